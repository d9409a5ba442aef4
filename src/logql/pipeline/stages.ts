/**
 * The label-changing stages that need no parser of their own: `regexp`, `pattern`, `drop`,
 * `keep` and `decolorize`.
 */
import type { DropKeepItem } from '../ast.ts';
import { badRequest } from '../../lib/errors.ts';
import type { Stage } from './json.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, sanitizeLabelKey } from './labels.ts';
import { compileMatcher } from './label-filter.ts';
import { compilePattern } from './pattern.ts';
import { compileUnanchored } from './regex.ts';

/** `| regexp "(?P<name>...)"`: named groups become labels; a line that does not match is kept. */
export function regexpStage(pattern: string): Stage {
  const re = compileUnanchored(pattern);
  const names: string[] = [];
  for (const m of pattern.matchAll(/\(\?P?<([^>]*)>/g)) names.push(m[1] ?? '');
  if (names.length === 0) throw badRequest('at least one named capture must be supplied');
  const seen = new Set<string>();
  for (const n of names) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n)) throw badRequest(`invalid extracted label name '${n}'`);
    if (seen.has(n)) throw badRequest(`duplicate extracted label name '${n}'`);
    seen.add(n);
  }
  const keys = names.map((n) => sanitizeLabelKey(n));
  return (line, st) => {
    const m = re.exec(line);
    if (m === null || m.groups === undefined) return line;
    for (let k = 0; k < names.length; k++) st.labels.set(st.parsedName(keys[k]!), m.groups[names[k]!] ?? '');
    return line;
  };
}

/** `| pattern "<a> <_> <b>"` */
export function patternStage(pattern: string): Stage {
  const p = compilePattern(pattern, true);
  return (line, st) => {
    const caps = p.matches(line);
    for (let k = 0; k < caps.length; k++) st.labels.set(st.parsedName(p.names[k]!), caps[k]!);
    return line;
  };
}

type ItemTest = { name: string; match: ((v: string) => boolean) | null };

const compileItems = (items: DropKeepItem[]): ItemTest[] =>
  items.map((it) =>
    it.matcher === null
      ? { name: it.name, match: null }
      : { name: it.matcher.name, match: compileMatcher(it.matcher) },
  );

/** `| drop a, b="v"`: `__error__` / `__error_details__` clear the pipeline error. */
export function dropStage(items: DropKeepItem[]): Stage {
  const tests = compileItems(items);
  return (line, st) => {
    for (const t of tests) {
      if (t.name === ERROR_LABEL) {
        if (t.match === null || t.match(st.err)) st.err = '';
      } else if (t.name === ERROR_DETAILS_LABEL) {
        if (t.match === null || t.match(st.errDetails)) st.errDetails = '';
      } else if (t.match === null || t.match(st.labels.get(t.name) ?? '')) st.labels.delete(t.name);
    }
    return line;
  };
}

/** `| keep a, b=~"re"`: every other label goes, stream labels included; the error stays. */
export function keepStage(items: DropKeepItem[]): Stage {
  const tests = compileItems(items);
  return (line, st) => {
    for (const [name, value] of st.labels) {
      let keep = false;
      for (const t of tests) {
        if (t.name === name && (t.match === null || t.match(value))) {
          keep = true;
          break;
        }
      }
      if (!keep) st.labels.delete(name);
    }
    return line;
  };
}

// acarl005/stripansi, which Loki's decolorize uses
const ANSI =
  // eslint-disable-next-line no-control-regex
  /[\u001B\u009B][[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))/g;

export function decolorizeStage(): Stage {
  return (line) => (line.includes('\u001B') || line.includes('\u009B') ? line.replace(ANSI, '') : line);
}
