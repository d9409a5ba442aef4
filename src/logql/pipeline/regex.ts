/**
 * RE2 regular expressions for the log pipeline. Line filters and the `regexp` parser are
 * unanchored (Go's `regexp.MatchString`); label filters are anchored like Prometheus matchers.
 * The RE2 syntax is translated to a JavaScript RegExp (src/promql/functions/re2.ts). JavaScript's
 * engine backtracks, so (DESIGN.md decision 13) patterns whose shape can backtrack exponentially
 * are rejected up front: a repeated group that itself holds an unbounded repetition (`(a+)+`,
 * `(.*x)*`) or alternatives that can start with the same character (`(a|ab)*`, `(\w|\d)+`).
 */
import { badRequest } from '../../lib/errors.ts';
import { Re2SyntaxError, translateRe2 } from '../../promql/functions/re2.ts';

const MAX_PATTERN_CHARS = 4096;

export class UnsafeRegexpError extends Error {}

interface GroupInfo {
  /** an unbounded repetition somewhere inside */
  hasUnbounded: boolean;
  /** first character of each alternative: a literal char, '' for "not a plain literal" */
  firstChars: string[];
  atAltStart: boolean;
}

/**
 * Throws UnsafeRegexpError when the pattern nests unbounded repetitions or repeats alternatives
 * that overlap on their first character. A conservative structural check on RE2 source text.
 */
export function checkRegexpSafety(src: string): void {
  const stack: GroupInfo[] = [{ hasUnbounded: false, firstChars: [], atAltStart: true }];
  let last: GroupInfo | null = null; // the group just closed (a quantifier may apply to it)
  let i = 0;
  const top = (): GroupInfo => stack[stack.length - 1]!;
  const noteAtom = (first: string): void => {
    const g = top();
    if (g.atAltStart) {
      g.firstChars.push(first);
      g.atAltStart = false;
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1] ?? '';
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        noteAtom(src[i + 2] ?? '');
        i = end < 0 ? src.length : end + 2;
      } else {
        noteAtom(/[A-Za-z0-9]/.test(n) ? '' : n);
        i += 2;
      }
      last = null;
      continue;
    }
    if (c === '[') {
      // skip the class
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') {
        if (src[j] === '\\') j++;
        else if (src[j] === '[' && src[j + 1] === ':') {
          const e = src.indexOf(':]', j + 2);
          if (e > 0) j = e + 1;
        }
        j++;
      }
      noteAtom('');
      i = j + 1;
      last = null;
      continue;
    }
    if (c === '(') {
      let j = i + 1;
      if (src[j] === '?') {
        const m = /^\?(?:P?<[A-Za-z0-9_]+>|[imsU-]*:)/.exec(src.slice(j));
        if (m === null) {
          // a flag group `(?i)`: no atom
          const close = src.indexOf(')', j);
          i = close < 0 ? src.length : close + 1;
          continue;
        }
        j += m[0].length;
      }
      noteAtom('(');
      stack.push({ hasUnbounded: false, firstChars: [], atAltStart: true });
      i = j;
      last = null;
      continue;
    }
    if (c === ')') {
      if (stack.length > 1) {
        const g = stack.pop()!;
        if (g.hasUnbounded) top().hasUnbounded = true;
        last = g;
      }
      i++;
      continue;
    }
    if (c === '|') {
      top().atAltStart = true;
      i++;
      last = null;
      continue;
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      let unbounded = c === '*' || c === '+';
      let repeats = c !== '?';
      if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (m === null) {
          noteAtom('{');
          i++;
          last = null;
          continue;
        }
        unbounded = m[2] !== undefined && (m[3] ?? '') === '';
        repeats = unbounded || Number(m[3] ?? m[1]) > 1;
        i += m[0].length;
      } else i++;
      if (src[i] === '?') i++; // lazy
      if (last !== null && repeats) {
        if (last.hasUnbounded) throw new UnsafeRegexpError('nested repetition');
        const firsts = last.firstChars;
        if (firsts.length > 1) {
          const seen = new Set<string>();
          let opaque = 0;
          for (const f of firsts) {
            if (f === '' || f === '(') opaque++;
            else if (seen.has(f)) throw new UnsafeRegexpError('repeated overlapping alternatives');
            else seen.add(f);
          }
          if (opaque > 1) throw new UnsafeRegexpError('repeated overlapping alternatives');
        }
      }
      if (unbounded) top().hasUnbounded = true;
      last = null;
      continue;
    }
    noteAtom(c === '.' || c === '^' || c === '$' ? '' : c);
    i++;
    last = null;
  }
}

function translateChecked(pattern: string): { source: string; flags: string } {
  if (pattern.length > MAX_PATTERN_CHARS)
    throw badRequest(
      `regular expression is ${pattern.length} characters long, over the limit of ${MAX_PATTERN_CHARS}`,
      'MS_ERR_BAD_REGEX',
    );
  try {
    checkRegexpSafety(pattern);
    return translateRe2(pattern);
  } catch (e) {
    if (e instanceof UnsafeRegexpError)
      throw badRequest(
        `regular expression ${JSON.stringify(pattern)} could take exponential time (${e.message}); rewrite it without nested or overlapping repetition`,
        'MS_ERR_BAD_REGEX',
      );
    if (e instanceof Re2SyntaxError)
      throw badRequest(`error parsing regexp: ${e.message}: \`${pattern}\``, 'MS_ERR_BAD_REGEX');
    throw e;
  }
}

/** An unanchored RE2 pattern (a line filter, the `regexp` parser); `.` stops at a newline, as in Go. */
export function compileUnanchored(pattern: string): RegExp {
  const { source, flags } = translateChecked(pattern);
  return new RegExp(source, `u${flags}`);
}

/** A fully anchored RE2 pattern (`^(?s:re)$`, label matchers). */
export function compileAnchoredRe2(pattern: string): RegExp {
  const { source, flags } = translateChecked(pattern);
  return new RegExp(`(?<![\\s\\S])(?:${source})(?![\\s\\S])`, `su${flags}`);
}
