/**
 * RE2 regular expressions for the log pipeline, on src/logql/regex.ts (RE2 semantics, Go's
 * error texts; a pattern a backtracking engine could blow up runs on a linear-time engine, so
 * none is refused for being slow). Line filters and the `regexp` parser are unanchored (Go's
 * `regexp.MatchString`: `.` does not match `\n` unless `(?s)`); label matchers are Prometheus
 * matchers, `^(?s:re)$`.
 */
import { badRequest } from '../../lib/errors.ts';
import { compileRe2, type Re2, re2Error } from '../regex.ts';

function checked(pattern: string): void {
  const err = re2Error(pattern);
  if (err !== null) throw badRequest(err, 'MS_ERR_BAD_REGEX');
}

/** An unanchored RE2 pattern (a line filter, the `regexp` parser). */
export function compileUnanchored(pattern: string): Re2 {
  checked(pattern);
  return compileRe2(pattern, false);
}

/** A label matcher's pattern: matches the whole value, `.` matching `\n` too. */
export function compileLabelRe2(pattern: string): Re2 {
  // checked as written: the wrapping must not make `a)(b` valid
  checked(pattern);
  return compileRe2(`(?s:${pattern})`, true);
}
