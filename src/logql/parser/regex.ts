/** RE2 syntax checks with Go's error texts (`error parsing regexp: missing closing ): \`(a\``), from re2js. */
import { translateRe2 } from '../../promql/functions/re2.ts';
import { re2Error } from '../regex.ts';

/** Go's message for an invalid RE2 pattern, or null when the pattern is valid. */
export const regexpError = re2Error;

/** Whether an RE2 pattern, fully anchored as label matchers are, matches the empty string. */
export function matchesEmpty(pattern: string): boolean {
  const { source, flags } = translateRe2(pattern);
  return new RegExp(`^(?:${source})$`, `su${flags}`).test('');
}

/** Whether the pattern has at least one named capture group `(?P<name>...)` / `(?<name>...)`. */
export function hasNamedCapture(pattern: string): boolean {
  return /\(\?P?<[A-Za-z0-9_]+>/.test(pattern);
}
