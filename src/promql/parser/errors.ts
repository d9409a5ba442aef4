import { MoleError } from '../../lib/errors.ts';
import type { PosRange } from '../ast.ts';

/** A PromQL syntax or type error; the message reads like Prometheus': `1:7: parse error: ...`. */
export class PromQLParseError extends MoleError {
  readonly position: PosRange;
  /** the message without the `<line>:<col>: parse error: ` prefix */
  readonly detail: string;

  constructor(query: string, position: PosRange, detail: string) {
    const { line, col } = lineCol(query, position.start);
    super(`${line}:${col}: parse error: ${detail}`, {
      code: 'MS_ERR_PROMQL_PARSE',
      status: 400,
      reason: 'bad_request',
    });
    this.name = 'PromQLParseError';
    this.position = position;
    this.detail = detail;
  }
}

/** 1-based line and column of a character offset. */
export function lineCol(query: string, pos: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(pos, 0), query.length);
  for (let i = 0; i < end; i++) {
    if (query[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: end - lineStart + 1 };
}
