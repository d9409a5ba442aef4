/** A position in the token list with Loki-worded syntax errors. */
import { errorAt, type LogQLParseError } from './errors.ts';
import { syntaxErrorText, type Token, type TokenKind } from './tokens.ts';

export class Cursor {
  private k = 0;
  constructor(
    readonly query: string,
    private readonly toks: Token[],
  ) {}

  /** The next token (a lexical error found there is thrown: Loki reports it first). */
  peek(ahead = 0): Token {
    const t = this.toks[Math.min(this.k + ahead, this.toks.length - 1)]!;
    if (t.error !== undefined) throw errorAt(this.query, t.start, t.lineZero, t.error);
    return t;
  }

  is(...kinds: TokenKind[]): boolean {
    return kinds.includes(this.peek().kind);
  }

  next(): Token {
    const t = this.peek();
    if (this.k < this.toks.length - 1) this.k++;
    return t;
  }

  accept(kind: TokenKind): Token | null {
    return this.is(kind) ? this.next() : null;
  }

  /** Takes a token of `kind`, or fails naming what the grammar accepts here (`expected`). */
  expect(kind: TokenKind, expected: readonly TokenKind[] = [kind]): Token {
    if (!this.is(kind)) throw this.error(expected);
    return this.next();
  }

  /** End of the last taken token. */
  get lastEnd(): number {
    return this.toks[Math.max(this.k - 1, 0)]!.end;
  }

  /** Loki's "syntax error: unexpected X[, expecting ...]" at the next token. */
  error(expected: readonly TokenKind[]): LogQLParseError {
    const t = this.peek();
    return errorAt(this.query, t.start, t.lineZero, syntaxErrorText(t, expected));
  }
}
