/** RE2 checks the LogQL validation needs (Go's error texts come from `re2Error` in ../regex.ts). */
import { compileRe2 } from '../regex.ts';

/** Whether an RE2 pattern, fully anchored as label matchers are, matches the empty string. */
export function matchesEmpty(pattern: string): boolean {
  return compileRe2(`(?s:${pattern})`, true).test('');
}

/** Whether a valid RE2 pattern has at least one named capture group `(?P<name>...)` / `(?<name>...)`. */
export function hasNamedCapture(pattern: string): boolean {
  return compileRe2(pattern).groupNames.some((n) => n !== '');
}
