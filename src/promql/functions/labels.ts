/** label_replace and label_join: relabel each sample; names are kept (or restored) as Prometheus does. */
import { METRIC_NAME } from '../labels.ts';
import type { Sample } from '../value.ts';
import { define, execError, stringArg, vectorArg } from './common.ts';
import { compileAnchored } from './re2.ts';
import type { FunctionImpl } from './types.ts';

/** Prometheus 3 validates label names as non-empty, valid UTF-8 (U+FFFD stands for invalid bytes here). */
export function isValidLabelName(name: string): boolean {
  if (name === '' || name.includes('\uFFFD')) return false;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = name.charCodeAt(k + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      k++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** Go's regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups expand to ''. */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  let rest = template;
  for (;;) {
    const k = rest.indexOf('$');
    if (k < 0) break;
    out += rest.slice(0, k);
    rest = rest.slice(k + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const brace = rest.startsWith('{');
    const body = brace ? rest.slice(1) : rest;
    const nm = /^[\p{L}\p{Nd}_]+/u.exec(body);
    if (nm === null || (brace && body[nm[0].length] !== '}')) {
      out += '$'; // malformed: the $ is literal text
      continue;
    }
    const name = nm[0];
    rest = body.slice(name.length + (brace ? 1 : 0));
    if (/^[0-9]+$/.test(name) && name.length <= 8) {
      out += m[Number(name)] ?? '';
    } else if (!/^[0-9]+$/.test(name)) {
      out += m.groups?.[name] ?? '';
    }
  }
  return out + rest;
}

function checkUnique(out: Sample[]): Sample[] {
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.metric.key)) throw execError('vector cannot contain metrics with the same labelset');
    seen.add(s.metric.key);
  }
  return out;
}

export const LABEL_FUNCTIONS: FunctionImpl[] = [
  define('label_replace', (args) => {
    const dst = stringArg(args, 1);
    const repl = stringArg(args, 2);
    const src = stringArg(args, 3);
    const regexStr = stringArg(args, 4);
    let re: RegExp;
    try {
      re = compileAnchored(regexStr);
    } catch {
      throw execError(`invalid regular expression in label_replace(): ${regexStr}`);
    }
    if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_replace(): ${dst}`);
    const out = vectorArg(args, 0).map((s): Sample => {
      const m = re.exec(s.metric.get(src));
      if (m === null) return s;
      const metric = s.metric.with(dst, expandTemplate(repl, m));
      const dropName = dst === METRIC_NAME ? false : s.dropName;
      return { metric, t: s.t, v: s.v, ...(dropName === true ? { dropName } : {}) };
    });
    return checkUnique(out);
  }),
  define('label_join', (args) => {
    const dst = stringArg(args, 1);
    const sep = stringArg(args, 2);
    const srcLabels: string[] = [];
    for (let k = 3; k < args.length; k++) {
      const src = stringArg(args, k);
      if (!isValidLabelName(src)) throw execError(`invalid source label name in label_join(): ${src}`);
      srcLabels.push(src);
    }
    if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_join(): ${dst}`);
    const out = vectorArg(args, 0).map((s): Sample => {
      const value = srcLabels.map((l) => s.metric.get(l)).join(sep);
      const metric = s.metric.with(dst, value);
      const dropName = dst === METRIC_NAME ? false : s.dropName;
      return { metric, t: s.t, v: s.v, ...(dropName === true ? { dropName } : {}) };
    });
    return checkUnique(out);
  }),
];
