/** RE2 syntax checks with Go's error texts (`error parsing regexp: missing closing ): \`(a\``), via re2js. */
import { compileRe2, re2Error } from '../regex.ts';

/** Go's message for an invalid RE2 pattern, or null when the pattern is valid. */
export const regexpError = re2Error;

/** Whether an RE2 pattern, fully anchored as label matchers are, matches the empty string. */
export function matchesEmpty(pattern: string): boolean {
  return compileRe2(`(?s:${pattern})`, true).test('');
}

/** Whether a valid RE2 pattern has at least one named capture group `(?P<name>...)` / `(?<name>...)`. */
export function hasNamedCapture(pattern: string): boolean {
  return compileRe2(pattern).groupNames.some((n) => n !== '');
}
