import { MoleError } from '../../lib/errors.ts';

/**
 * A LogQL syntax or validation error. The message is exactly Loki's (`parse error at line 1, col 11:
 * syntax error: ...` or `parse error : <what>` when Loki reports no position), so clients that
 * match on Loki's text keep working. `pos` is the character offset in the query the error is
 * about (also for the messages that carry none), or null when the whole query is at fault.
 */
export class LogQLParseError extends MoleError {
  readonly pos: number | null;
  /** the message without the `parse error ...: ` prefix */
  readonly detail: string;

  constructor(message: string, detail: string, pos: number | null) {
    super(message, { code: 'MS_ERR_LOGQL_PARSE', status: 400, reason: 'bad_request' });
    this.name = 'LogQLParseError';
    this.pos = pos;
    this.detail = detail;
  }
}

/**
 * Loki's position: `line` 0 where Loki's scanner had already moved past the token's first
 * character (two-character operators, durations, byte sizes, ranges, parser flags): a quirk of Go's
 * text/scanner that Loki's messages show, so we keep it. Columns count characters, not bytes.
 */
export function errorAt(query: string, offset: number, lineZero: boolean, detail: string): LogQLParseError {
  const { line, col } = lineCol(query, offset);
  return new LogQLParseError(
    `parse error at line ${lineZero ? 0 : line}, col ${col}: ${detail}`,
    detail,
    offset,
  );
}

/** An error Loki reports without a position (`parse error : <detail>`). */
export function errorNoPos(detail: string, pos: number | null): LogQLParseError {
  return new LogQLParseError(`parse error : ${detail}`, detail, pos);
}

/** 1-based line and column (in code points) of a character offset. */
export function lineCol(query: string, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  const end = Math.min(Math.max(offset, 0), query.length);
  for (let i = 0; i < end; i++) {
    const c = query.charCodeAt(i);
    if (c === 10) {
      line++;
      col = 1;
    } else if (c < 0xdc00 || c > 0xdfff) {
      // a low surrogate continues the previous code point
      col++;
    }
  }
  return { line, col };
}
