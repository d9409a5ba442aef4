/**
 * RE2 syntax checks with Go's error texts (`error parsing regexp: missing closing ): \`(a\``).
 * Go names the offending fragment; for the errors that concern the whole pattern (unbalanced
 * parentheses) that is the pattern, elsewhere we also name the whole pattern (a known difference).
 */
import { Re2SyntaxError, translateRe2 } from '../../promql/functions/re2.ts';

/** Go's message for an invalid RE2 pattern, or null when the pattern is valid. */
export function regexpError(pattern: string): string | null {
  let code: string;
  try {
    const { source, flags } = translateRe2(pattern);
    new RegExp(source, `u${flags}`);
    return null;
  } catch (e) {
    if (e instanceof Re2SyntaxError) code = e.message;
    else code = jsToGoCode((e as Error).message);
  }
  return `error parsing regexp: ${code}: \`${pattern}\``;
}

function jsToGoCode(msg: string): string {
  if (/nothing to repeat/i.test(msg)) return 'missing argument to repetition operator';
  if (/unterminated group/i.test(msg)) return 'missing closing )';
  if (/unmatched '\)'/i.test(msg)) return 'unexpected )';
  if (/unterminated character class/i.test(msg)) return 'missing closing ]';
  if (/range out of order/i.test(msg)) return 'invalid character class range';
  if (/invalid escape/i.test(msg)) return 'invalid escape sequence';
  return 'invalid or unsupported Perl syntax';
}

/** Whether an RE2 pattern, fully anchored as label matchers are, matches the empty string. */
export function matchesEmpty(pattern: string): boolean {
  const { source, flags } = translateRe2(pattern);
  return new RegExp(`^(?:${source})$`, `su${flags}`).test('');
}

/** Whether the pattern has at least one named capture group `(?P<name>...)` / `(?<name>...)`. */
export function hasNamedCapture(pattern: string): boolean {
  return /\(\?P?<[A-Za-z0-9_]+>/.test(pattern);
}
