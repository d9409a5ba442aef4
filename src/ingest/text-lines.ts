/**
 * Line-oriented text bodies (Influx line protocol, Prometheus text, JSON lines): strict UTF-8
 * (an invalid byte is an error naming its line, never a U+FFFD stored in a label), a cap on the
 * length of one line, and 1-based line numbers for every error.
 */
import { badRequest } from '../lib/errors.ts';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text; invalid UTF-8 is a 400 naming the first bad line. */
export function decodeUtf8Lines(body: Uint8Array): string {
  try {
    return strict.decode(body);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= body.length; i++) {
      if (i === body.length || body[i] === 0x0a) {
        try {
          strict.decode(body.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    throw badRequest(`line ${line}: not valid UTF-8; send UTF-8 text`, 'MS_ERR_INVALID_UTF8');
  }
}

/**
 * Calls `fn` for every line (without its `\n` and a trailing `\r`) with its 1-based number. A line
 * longer than `maxLineChars` is a 400.
 */
export function forEachLine(
  text: string,
  maxLineChars: number,
  fn: (line: string, lineNo: number) => void,
): void {
  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    lineNo++;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end - start > maxLineChars) {
      throw badRequest(
        `line ${lineNo}: ${end - start} characters, over the limit of ${maxLineChars}; split it`,
        'MS_ERR_LINE_TOO_LONG',
      );
    }
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    fn(text.slice(start, stop), lineNo);
    start = end + 1;
  }
}
