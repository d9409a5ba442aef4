/**
 * RE2 regular expressions for LogQL (DESIGN.md decision 13): Go's syntax, Go's error texts, and
 * never a catastrophic run. A pattern that a backtracking engine runs in linear time (no
 * quantified group that holds a quantifier or an alternation, few unbounded repeats) runs on V8's
 * engine — 10–100× faster than the alternative; every other pattern runs on re2js, a port of RE2
 * that is linear in the input whatever the pattern. Both answer the same (RE2 semantics; the V8
 * form comes from translateRe2).
 */
import { RE2JS } from 're2js';
import { Re2SyntaxError, translateRe2 } from '../promql/functions/re2.ts';

export interface Re2 {
  /** whether the pattern matches somewhere in `s` (everywhere when compiled anchored) */
  test(s: string): boolean;
  /** capture groups of the first match (index 0 = the whole match; unmatched = undefined) */
  exec(s: string): (string | undefined)[] | null;
  /** group names by group index ('' for unnamed groups); index 0 is the whole match */
  readonly groupNames: readonly string[];
  /** true when it runs on the linear-time engine */
  readonly linear: boolean;
}

/** A pattern RE2 rejects; the message is Go's (`error parsing regexp: missing closing ): \`(a\``). */
export class Re2Error extends Error {}

/** more unbounded repeats than this, or more than one of a broad atom, go to the linear engine */
const MAX_UNBOUNDED_REPEATS = 6;
const MAX_BROAD_REPEATS = 1;
/** lines longer than this run on the linear engine even for safe patterns with unbounded repeats */
const LONG_LINE = 16 * 1024;

/** Go's error text for an invalid pattern, or null when RE2 accepts it. */
export function re2Error(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Whether V8's backtracking engine runs `pattern` in time linear (or nearly) in the input: no
 * quantified group holding a quantifier or an alternation (`(a+)+`, `(a|aa)*`: exponential), at
 * most one unbounded repeat of a broad atom (`.`, `\S`, `\W`, `\D`, `[^…]`: `.*a.*b` is cubic in
 * an unanchored search) and at most MAX_UNBOUNDED_REPEATS unbounded repeats overall.
 * Conservative: false sends a safe pattern to the slower linear engine, never the reverse.
 */
export function backtrackSafe(pattern: string): boolean {
  interface Frame {
    repeats: boolean;
    alternation: boolean;
  }
  const stack: Frame[] = [{ repeats: false, alternation: false }];
  let unbounded = 0;
  let broad = 0;
  // what the next quantifier applies to: a group's contents, or a single atom (broad or not)
  let last: Frame | 'atom' | 'broad' | null = null;
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        i = end < 0 ? n : end + 2;
      } else if (pattern[i + 1] === 'p' || pattern[i + 1] === 'P') {
        i += pattern[i + 2] === '{' ? Math.max(pattern.indexOf('}', i) + 1, i + 3) : 3;
      } else {
        last = 'SWD'.includes(pattern[i + 1] ?? '') ? 'broad' : 'atom';
        i += 2;
        continue;
      }
      last = 'atom';
      continue;
    }
    if (c === '[') {
      last = pattern[i + 1] === '^' ? 'broad' : 'atom';
      i = classEnd(pattern, i);
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] === '?') {
        // (?flags) alone is no group; (?flags:...), (?P<name>...), (?<name>...) are
        const close = pattern.indexOf(')', i);
        const colon = pattern.indexOf(':', i);
        const named = pattern[i + 2] === 'P' || pattern[i + 2] === '<';
        if (!named && close >= 0 && (colon < 0 || close < colon)) {
          i = close + 1;
          last = null;
          continue;
        }
      }
      stack.push({ repeats: false, alternation: false });
      i++;
      last = null;
      continue;
    }
    if (c === ')') {
      const inner = stack.length > 1 ? stack.pop()! : top;
      const parent = stack[stack.length - 1]!;
      parent.repeats ||= inner.repeats;
      parent.alternation ||= inner.alternation;
      last = inner;
      i++;
      continue;
    }
    if (c === '|') {
      top.alternation = true;
      last = null;
      i++;
      continue;
    }
    const q = quantifier(pattern, i);
    if (q) {
      if (q.unbounded) {
        unbounded++;
        if (last === 'broad' || (last !== null && last !== 'atom')) broad++;
      }
      if (q.repeats) {
        if (last !== null && typeof last === 'object' && (last.repeats || last.alternation)) return false;
        top.repeats = true;
      }
      i = q.end;
      // a lazy or possessive marker
      if (pattern[i] === '?') i++;
      last = null;
      continue;
    }
    last = c === '.' ? 'broad' : 'atom';
    i++;
  }
  return unbounded <= MAX_UNBOUNDED_REPEATS && broad <= MAX_BROAD_REPEATS;
}

/** The index after the character class that starts at `i` (`[`). */
function classEnd(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++;
  while (j < p.length && p[j] !== ']') {
    if (p[j] === '\\') j += 2;
    else if (p[j] === '[' && p[j + 1] === ':') {
      const end = p.indexOf(':]', j + 2);
      j = end < 0 ? j + 1 : end + 2;
    } else j++;
  }
  return j + 1;
}

/** A repetition operator at `i`: `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`. */
function quantifier(p: string, i: number): { end: number; repeats: boolean; unbounded: boolean } | null {
  const c = p[i];
  if (c === '*' || c === '+') return { end: i + 1, repeats: true, unbounded: true };
  if (c === '?') return { end: i + 1, repeats: false, unbounded: false };
  if (c !== '{') return null;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i, i + 16));
  if (!m) return null;
  const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
  return { end: i + m[0].length, repeats: max > 1, unbounded: max === Infinity };
}

const cache = new Map<string, Re2>();
const CACHE_LIMIT = 256;

/**
 * Compiles an RE2 pattern; `anchored` makes it match the whole input (label matchers), else it
 * matches anywhere (line filters, `| regexp`). Throws Re2Error with Go's message.
 */
export function compileRe2(pattern: string, anchored = false): Re2 {
  const key = `${anchored ? 'a' : 'u'}${pattern}`;
  let re = cache.get(key);
  if (re) return re;
  let checked: RE2JS;
  try {
    checked = RE2JS.compile(pattern);
  } catch (e) {
    throw new Re2Error((e as Error).message);
  }
  const names = groupNamesOf(checked);
  re = (backtrackSafe(pattern) && v8Regex(pattern, anchored, names)) || re2jsRegex(pattern, anchored, names);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, re);
  return re;
}

/** Group names by group index ('' for unnamed groups), from the pattern as written. */
function groupNamesOf(re: RE2JS): string[] {
  const names: string[] = new Array<string>(re.groupCount() + 1).fill('');
  const named = re.namedGroups();
  for (const [name, index] of Object.entries(named)) names[index] = name;
  return names;
}

/** null when the translation does not cover the pattern (RE2 accepted it: a scoped `(?m)`, `(?U)`). */
function v8Regex(pattern: string, anchored: boolean, groupNames: readonly string[]): Re2 | null {
  // Go's `.` (no `\n` unless (?s)); lookarounds rather than ^/$ so that (?m) keeps the anchoring
  let source: string;
  let flags: string;
  try {
    ({ source, flags } = translateRe2(pattern, false));
  } catch (e) {
    if (e instanceof Re2SyntaxError) return null;
    throw e;
  }
  const re = new RegExp(anchored ? `(?<![\\s\\S])(?:${source})(?![\\s\\S])` : source, `u${flags}`);
  // a safe pattern with unbounded repeats is still quadratic in an unanchored search
  let linear: Re2 | null = null;
  const long = /[*+]|,\}/.test(pattern)
    ? (s: string): Re2 | null =>
        s.length > LONG_LINE ? (linear ??= re2jsRegex(pattern, anchored, groupNames)) : null
    : (): null => null;
  return {
    test: (s) => long(s)?.test(s) ?? re.test(s),
    exec: (s) => {
      const l = long(s);
      if (l) return l.exec(s);
      const m = re.exec(s);
      return m ? Array.from(m) : null;
    },
    groupNames,
    linear: false,
  };
}

function re2jsRegex(pattern: string, anchored: boolean, groupNames: readonly string[]): Re2 {
  const re = RE2JS.compile(anchored ? `^(?:${pattern})$` : pattern);
  const count = re.groupCount();
  return {
    test: (s) => re.matcher(s).find(),
    exec: (s) => {
      const m = re.matcher(s);
      if (!m.find()) return null;
      const out: (string | undefined)[] = [];
      for (let g = 0; g <= count; g++) out.push(m.group(g) ?? undefined);
      return out;
    },
    groupNames,
    linear: true,
  };
}
