/**
 * Regular expressions of PromQL label matchers, as Prometheus 3 compiles them: `^(?s:re)$` —
 * fully anchored, and `.` matches a newline (RE2 syntax, DESIGN.md decision 13). RE2's leading
 * flag groups `(?i)`, `(?m)` become JavaScript flags. JavaScript's engine backtracks, so patterns
 * are cached and capped in length; a linear-time engine is still to come.
 */
import { badRequest } from '../lib/errors.ts';

const MAX_PATTERN_BYTES = 4096;
const cache = new Map<string, RegExp>();

export function compileAnchored(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  if (pattern.length > MAX_PATTERN_BYTES)
    throw badRequest(`regular expression is longer than ${MAX_PATTERN_BYTES} bytes`, 'MS_ERR_BAD_REGEX');
  let flags = 'su';
  let body = pattern;
  const m = /^\(\?([ims]+)\)/.exec(body);
  if (m) {
    for (const f of m[1]!) if (!flags.includes(f)) flags += f;
    body = body.slice(m[0].length);
  }
  try {
    re = new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    throw badRequest(
      `invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`,
      'MS_ERR_BAD_REGEX',
    );
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(pattern, re);
  return re;
}
