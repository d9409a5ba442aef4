/**
 * The PromQL lexer (after Prometheus' promql/parser/lex.go). Tokenizes the whole query up front;
 * keywords are identifiers here and are recognized by the parser, because whether `by` or `offset`
 * is a keyword or a label/metric name depends on where it appears.
 */

export type TokenKind =
  | 'ident' // foo, foo_bar, also keywords
  | 'metric_ident' // an identifier with a colon: job:rate5m
  | 'number'
  | 'duration'
  | 'string'
  | 'op' // punctuation and operators; text is the operator
  | 'error' // a lexical error; text is the message (the parser reports it when it gets there)
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** raw text, except for strings, where it is the unquoted value */
  text: string;
  start: number;
  end: number;
}

const OPERATORS = ['==', '!=', '=~', '!~', '<=', '>=', '(', ')', '{', '}', '[', ']', ',', '=', '<', '>', '+', '-', '*', '/', '%', '^', '@', ':'];

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
const isAlnum = (c: string | undefined) => isAlpha(c) || isDigit(c);

/** Go number syntax as Prometheus lexes it, with `_` between digits: 0x1F, 1_000, 1.5e-3, .5 */
const NUMBER_RE =
  /^(?:0[xX]_?[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*|(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?)/;
const DURATION_RE = /^(?:\d+(?:ms|[smhdwy]))+/;

class LexError extends Error {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    super('lex error');
  }
}

/** Tokens up to the first lexical error, which becomes an 'error' token; always ends with 'eof'. */
export function tokenize(query: string): Token[] {
  const out: Token[] = [];
  const fail = (start: number, end: number, msg: string): never => {
    out.push({ kind: 'error', text: msg, start, end });
    throw new LexError(start, end);
  };
  try {
    lex(query, out, fail);
  } catch (e) {
    if (!(e instanceof LexError)) throw e;
  }
  const last = out[out.length - 1];
  const end = last?.kind === 'error' ? last.end : query.length;
  out.push({ kind: 'eof', text: '', start: end, end });
  return out;
}

function lex(query: string, out: Token[], fail: (start: number, end: number, msg: string) => never): void {
  let i = 0;
  let brackets = 0;
  let braces = 0;
  let parens = 0;
  while (i < query.length) {
    const c = query[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < query.length && query[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (isDigit(c) || (c === '.' && isDigit(query[i + 1]))) {
      const rest = query.slice(i);
      const num = NUMBER_RE.exec(rest)?.[0] ?? '';
      if (!isAlnum(rest[num.length]) && rest[num.length] !== '.') {
        out.push({ kind: 'number', text: num, start, end: i + num.length });
        i += num.length;
        continue;
      }
      const dur = DURATION_RE.exec(rest)?.[0];
      if (dur !== undefined && !isAlnum(rest[dur.length]) && rest[dur.length] !== '.') {
        out.push({ kind: 'duration', text: dur, start, end: i + dur.length });
        i += dur.length;
        continue;
      }
      let j = i;
      while (j < query.length && (isAlnum(query[j]) || query[j] === '.')) j++;
      fail(start, j, `bad number or duration syntax: ${JSON.stringify(query.slice(start, j))}`);
    }
    if (isAlpha(c) || (c === ':' && brackets === 0)) {
      let j = i;
      while (j < query.length && (isAlnum(query[j]) || query[j] === ':')) j++;
      const text = query.slice(i, j);
      const lower = text.toLowerCase();
      const kind: TokenKind =
        lower === 'inf' || lower === 'nan' ? 'number' : text.includes(':') ? 'metric_ident' : 'ident';
      out.push({ kind, text, start, end: j });
      i = j;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const { value, end } = lexString(query, i, fail);
      out.push({ kind: 'string', text: value, start, end });
      i = end;
      continue;
    }
    const op = OPERATORS.find((o) => query.startsWith(o, i));
    if (op === undefined || (braces === 0 && (op === '=~' || op === '!~'))) {
      const n = query[i + 1];
      if ((c === '!' || c === '=') && n !== undefined) fail(start, start + 2, `unexpected character after '${c}': '${n}'`);
      fail(start, start + 1, `unexpected character: '${c}'`);
    } else {
      if (op === '[') brackets++;
      if (op === ']' && brackets-- === 0) fail(start, start + 1, "unexpected right bracket ']'");
      if (op === '{') braces++;
      if (op === '}' && braces-- === 0) fail(start, start + 1, "unexpected right brace '}'");
      if (op === '(') parens++;
      if (op === ')' && parens-- === 0) fail(start + 1, start + 1, "unexpected right parenthesis ')'");
      out.push({ kind: 'op', text: op, start, end: i + op.length });
      i += op.length;
    }
  }
  if (parens > 0) fail(query.length, query.length, 'unclosed left parenthesis');
  if (braces > 0) fail(query.length, query.length, 'unexpected end of input inside braces');
  if (brackets > 0) fail(query.length, query.length, 'unclosed left bracket');
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, "'": 39, '"': 34,
};

/** Reads a quoted string starting at `start` (Go escapes; backquotes are raw). */
function lexString(
  q: string,
  start: number,
  fail: (s: number, e: number, m: string) => never,
): { value: string; end: number } {
  const quote = q[start] ?? '';
  if (quote === '`') {
    const close = q.indexOf('`', start + 1);
    if (close < 0) fail(start, q.length, 'unterminated raw string');
    return { value: q.slice(start + 1, close), end: close + 1 };
  }
  const bytes: number[] = [];
  const enc = new TextEncoder();
  let i = start + 1;
  for (;;) {
    const c = q[i];
    if (c === undefined || c === '\n') fail(start, i, 'unterminated quoted string');
    if (c === quote) break;
    if (c !== '\\') {
      const cp = q.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      bytes.push(...enc.encode(ch));
      i += ch.length;
      continue;
    }
    const e = q[i + 1];
    if (e === undefined) fail(start, i + 1, 'unterminated quoted string');
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const h = q.slice(i + 2, i + 2 + hexLen);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== hexLen) fail(i, i + 2, 'invalid escape sequence in string');
      const v = parseInt(h, 16);
      if (e === 'x') bytes.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) fail(i, i + 2, 'escape sequence is an invalid Unicode code point');
      else bytes.push(...enc.encode(String.fromCodePoint(v)));
      i += 2 + hexLen;
      continue;
    }
    if (e >= '0' && e <= '7') {
      const o = q.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) fail(i, i + 2, 'invalid escape sequence in string');
      bytes.push(parseInt(o, 8));
      i += 4;
      continue;
    }
    fail(i, i + 2, 'unknown escape sequence U+' + (e.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0') + ` '${e}'`);
  }
  return { value: decodeUtf8(bytes), end: i + 1 };
}

/**
 * UTF-8 bytes to a string. Bytes that are not valid UTF-8 (from `\x` escapes) become lone
 * surrogates U+DC80..U+DCFF ("surrogateescape"), so they survive and `isWellFormed()` is false.
 */
export function decodeUtf8(bytes: number[]): string {
  const strict = new TextDecoder('utf-8', { fatal: true });
  try {
    return strict.decode(new Uint8Array(bytes));
  } catch {
    // fall through to the byte-by-byte decoding
  }
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const n = b < 0x80 ? 1 : (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 0;
    if (n > 0 && i + n <= bytes.length) {
      try {
        out += strict.decode(new Uint8Array(bytes.slice(i, i + n)));
        i += n;
        continue;
      } catch {
        // an invalid sequence: escape its first byte
      }
    }
    out += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return out;
}
