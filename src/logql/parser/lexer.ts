/**
 * The LogQL lexer. It reproduces how Loki's lexer (Go's text/scanner plus Loki's rules) cuts a
 * query into tokens, because Loki's error messages name those tokens and their positions:
 * - keywords are case-insensitive and reserved everywhere (`{by="x"}` is a syntax error in Loki);
 * - function names (`sum`, `rate`, `bytes`, `ip`, ...) are keywords only when a `(` or
 *   `by (`/`without (` follows, else identifiers (`sum by (count)`, `| unwrap bytes(size)`);
 * - a number directly followed by duration or byte-size characters is a DURATION or BYTES token;
 * - `[...]` is one RANGE token; `#`, `//` and `/* *\/` start comments.
 */
import type { Token, TokenKind } from './tokens.ts';
import { parseGoDurationNs, parsePromDurationMs } from './durations.ts';

/** Keywords of Loki's `tokens` table (shown in messages by their text). */
const KEYWORDS = new Set<string>([
  'by',
  'without',
  'bool',
  'label_replace',
  'offset',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'or',
  'and',
  'unless',
  'json',
  'regexp',
  'logfmt',
  'unpack',
  'pattern',
  'label_format',
  'line_format',
  'ip',
  'decolorize',
  'drop',
  'keep',
  'unwrap',
]);

/** Names that are keywords only in front of `(` (Loki's `functionTokens`). */
const FUNCTIONS: Record<string, TokenKind> = {
  rate: 'RATE',
  rate_counter: 'RATE_COUNTER',
  count_over_time: 'COUNT_OVER_TIME',
  bytes_rate: 'BYTES_RATE',
  bytes_over_time: 'BYTES_OVER_TIME',
  avg_over_time: 'AVG_OVER_TIME',
  sum_over_time: 'SUM_OVER_TIME',
  min_over_time: 'MIN_OVER_TIME',
  max_over_time: 'MAX_OVER_TIME',
  stdvar_over_time: 'STDVAR_OVER_TIME',
  stddev_over_time: 'STDDEV_OVER_TIME',
  quantile_over_time: 'QUANTILE_OVER_TIME',
  first_over_time: 'FIRST_OVER_TIME',
  last_over_time: 'LAST_OVER_TIME',
  absent_over_time: 'ABSENT_OVER_TIME',
  vector: 'VECTOR',
  sum: 'SUM',
  avg: 'AVG',
  max: 'MAX',
  min: 'MIN',
  count: 'COUNT',
  stddev: 'STDDEV',
  stdvar: 'STDVAR',
  bottomk: 'BOTTOMK',
  topk: 'TOPK',
  sort: 'SORT',
  sort_desc: 'SORT_DESC',
  label_replace: 'label_replace',
  approx_topk: 'APPROX_TOPK',
  bytes: 'BYTES_CONV',
  duration: 'DURATION_CONV',
  duration_seconds: 'DURATION_SECONDS_CONV',
  ip: 'ip',
};

const TWO_CHAR = new Set(['=~', '!~', '!>', '|=', '|~', '|>', '!=', '==', '>=', '<=']);
const ONE_CHAR = new Set([...',.{}=|()[]+-*/%^><']);

const DURATION_RUNES = new Set([...'numsµhdwy']);
const BYTES_RUNES = new Set([...'BikKMGTP']);
const BYTES_TABLE: Record<string, number> = {
  b: 1,
  kib: 1024,
  kb: 1000,
  mib: 1024 ** 2,
  mb: 1e6,
  gib: 1024 ** 3,
  gb: 1e9,
  tib: 1024 ** 4,
  tb: 1e12,
  pib: 1024 ** 5,
  pb: 1e15,
  eib: 1024 ** 6,
  eb: 1e18,
  ki: 1024,
  k: 1000,
  mi: 1024 ** 2,
  m: 1e6,
  gi: 1024 ** 3,
  g: 1e9,
  ti: 1024 ** 4,
  t: 1e12,
  pi: 1024 ** 5,
  p: 1e15,
  ei: 1024 ** 6,
  e: 1e18,
};

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isIdentStart = (c: string): boolean => c === '_' || /\p{L}/u.test(c);
const isIdentPart = (c: string): boolean => c === '_' || /[\p{L}\p{Nd}]/u.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Loki's duration literal: Prometheus syntax first, Go syntax second; nanoseconds. */
export function parseDurationLiteralNs(s: string): number | null {
  try {
    return parsePromDurationMs(s) * 1e6;
  } catch {
    return parseGoDurationNs(s);
  }
}

/** go-humanize `ParseBytes` on what Loki's lexer hands it. */
function parseBytes(s: string): number | null {
  const m = /^[\d.,]*/.exec(s);
  const num = (m?.[0] ?? '').replace(/,/g, '');
  if (!/^(\d+\.?\d*|\.\d+)$/.test(num)) return null;
  const mult = BYTES_TABLE[s.slice(m?.[0].length ?? 0).toLowerCase()];
  return mult === undefined ? null : Math.floor(Number(num) * mult);
}

export function tokenize(query: string): Token[] {
  return new Lexer(query).run();
}

class Lexer {
  private i = 0;
  private readonly out: Token[] = [];
  constructor(private readonly q: string) {}

  run(): Token[] {
    for (;;) {
      const t = this.next();
      this.out.push(t);
      if (t.kind === '$end' || t.error !== undefined) return this.out;
    }
  }

  private tok(kind: TokenKind, start: number, text: string, lineZero = false): Token {
    return { kind, start, end: this.i, text, lineZero };
  }

  private fail(start: number, msg: string, lineZero = false): Token {
    return { kind: '$end', start, end: this.i, text: '', lineZero, error: msg };
  }

  private skipSpaceAndComments(): string | null {
    const q = this.q;
    for (;;) {
      while (this.i < q.length && isSpace(q[this.i]!)) this.i++;
      const c = q[this.i];
      if (c === '#' || (c === '/' && q[this.i + 1] === '/')) {
        while (this.i < q.length && q[this.i] !== '\n') this.i++;
      } else if (c === '/' && q[this.i + 1] === '*') {
        const close = q.indexOf('*/', this.i + 2);
        if (close < 0) return 'comment not terminated';
        this.i = close + 2;
      } else {
        return null;
      }
    }
  }

  private next(): Token {
    const q = this.q;
    const commentErr = this.skipSpaceAndComments();
    const start = this.i;
    if (commentErr !== null) return this.fail(start, commentErr);
    if (this.i >= q.length) return this.tok('$end', start, '');
    const c = String.fromCodePoint(q.codePointAt(this.i)!);

    if (isDigit(c) || (c === '.' && isDigit(q[this.i + 1]))) return this.number(start);
    if (c === '"' || c === '`') return this.string(start, c);
    if (c === "'") return this.char(start);
    if (c === '[') return this.range(start);
    if (c === '-') {
      if (q[this.i + 1] === '-') {
        const m = /^--[\p{L}-]*/u.exec(q.slice(this.i));
        const flag = m?.[0] ?? '';
        if (flag === '--strict' || flag === '--keep-empty') {
          this.i += flag.length;
          return this.tok('PARSER_FLAG', start, flag, true);
        }
      }
      this.i++;
      const d = this.durationSuffix('-');
      if (d !== null) return this.tok('DURATION', start, d, true);
      return this.tok('-', start, '-');
    }
    if (isIdentStart(c)) return this.identifier(start);

    const two = q.slice(this.i, this.i + 2);
    if (TWO_CHAR.has(two)) {
      this.i += 2;
      return this.tok(two, start, two, true);
    }
    this.i += c.length;
    if (ONE_CHAR.has(c)) return this.tok(c, start, c);
    // Loki's lexer turns any other character into an identifier
    return this.tok('IDENTIFIER', start, c);
  }

  private identifier(start: number): Token {
    const q = this.q;
    this.i += String.fromCodePoint(q.codePointAt(this.i)!).length;
    while (this.i < q.length) {
      const ch = String.fromCodePoint(q.codePointAt(this.i)!);
      if (!isIdentPart(ch)) break;
      this.i += ch.length;
    }
    const text = q.slice(start, this.i);
    const lower = text.toLowerCase();
    const fn = FUNCTIONS[lower];
    if (fn !== undefined) {
      return this.isFunction() ? this.tok(fn, start, text) : this.tok('IDENTIFIER', start, text);
    }
    if (KEYWORDS.has(lower)) return this.tok(lower, start, text);
    return this.tok('IDENTIFIER', start, text);
  }

  /** Loki's isFunction: `(` or `by (` / `without (` follows (after spaces). */
  private isFunction(): boolean {
    const q = this.q;
    let j = this.i;
    const skip = () => {
      while (j < q.length && isSpace(q[j]!)) j++;
    };
    skip();
    if (q[j] === '(') return true;
    for (const kw of ['by', 'without']) {
      if (q.slice(j, j + kw.length).toLowerCase() === kw) {
        j += kw.length;
        skip();
        return q[j] === '(';
      }
    }
    return false;
  }

  private number(start: number): Token {
    const q = this.q;
    const digits = () => {
      while (isDigit(q[this.i]) || q[this.i] === '_') this.i++;
    };
    if (q[this.i] === '0' && /[xX]/.test(q[this.i + 1] ?? '')) {
      this.i += 2;
      while (/[0-9a-fA-F_]/.test(q[this.i] ?? '')) this.i++;
    } else {
      digits();
      if (q[this.i] === '.') {
        this.i++;
        digits();
      }
      if (q[this.i] === 'e' || q[this.i] === 'E') {
        this.i++;
        if (q[this.i] === '+' || q[this.i] === '-') this.i++;
        if (!isDigit(q[this.i])) return this.fail(start, 'exponent has no digits');
        digits();
      }
    }
    const text = q.slice(start, this.i);
    const d = this.durationSuffix(text);
    if (d !== null) return this.tok('DURATION', start, d, true);
    const b = this.suffix(text, BYTES_RUNES, (s) => parseBytes(s) !== null);
    if (b !== null) return this.tok('BYTES', start, b, true);
    return this.tok('NUMBER', start, text);
  }

  private durationSuffix(prefix: string): string | null {
    return this.suffix(prefix, DURATION_RUNES, (s) => parseDurationLiteralNs(s) !== null);
  }

  /** Loki's tryScanDuration / tryScanBytes: take the unit characters up to a space, keep them if valid. */
  private suffix(prefix: string, runes: Set<string>, valid: (s: string) => boolean): string | null {
    const q = this.q;
    let j = this.i;
    while (j < q.length) {
      const ch = String.fromCodePoint(q.codePointAt(j)!);
      if (isSpace(ch) || !(/\p{N}/u.test(ch) || runes.has(ch) || ch === '.')) break;
      j += ch.length;
    }
    if (j === this.i) return null;
    const text = prefix + q.slice(this.i, j);
    if (!valid(text)) return null;
    this.i = j;
    return text;
  }

  private string(start: number, quote: string): Token {
    const q = this.q;
    this.i++;
    if (quote === '`') {
      const close = q.indexOf('`', this.i);
      if (close < 0) {
        this.i = q.length;
        return this.fail(start, 'literal not terminated');
      }
      this.i = close + 1;
      return this.tok('STRING', start, q.slice(start + 1, close).replace(/\r/g, ''));
    }
    let out = '';
    for (;;) {
      const ch = q[this.i];
      if (ch === undefined || ch === '\n') return this.fail(start, 'literal not terminated');
      this.i++;
      if (ch === '"') break;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = unescape(q, this.i);
      if (esc === null) return this.fail(start, 'invalid char escape');
      out += esc.text;
      this.i = esc.next;
    }
    return this.tok('STRING', start, out);
  }

  private char(start: number): Token {
    const q = this.q;
    let j = this.i + 1;
    let n = 0;
    while (j < q.length && q[j] !== "'" && q[j] !== '\n') {
      j += q[j] === '\\' ? 2 : 1;
      n++;
    }
    this.i = Math.min(j + 1, q.length);
    if (q[j] !== "'") return this.fail(start, 'literal not terminated');
    if (n !== 1) return this.fail(start, 'invalid char literal');
    return this.tok('IDENTIFIER', start, q.slice(start, this.i));
  }

  private range(start: number): Token {
    const q = this.q;
    const close = q.indexOf(']', start + 1);
    if (close < 0) {
      this.i = q.length;
      return this.fail(start, "missing closing ']' in duration", true);
    }
    this.i = close + 1;
    const text = q.slice(start + 1, close);
    try {
      parsePromDurationMs(text);
    } catch (e) {
      return this.fail(start, (e as Error).message, true);
    }
    return this.tok('RANGE', start, text, true);
  }
}

/** One Go escape sequence after a backslash at `i`; null when invalid. */
function unescape(q: string, i: number): { text: string; next: number } | null {
  const c = q[i];
  const simple: Record<string, string> = {
    a: '\x07',
    b: '\b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t',
    v: '\v',
    '\\': '\\',
    '"': '"',
  };
  if (c === undefined) return null;
  const s = simple[c];
  if (s !== undefined) return { text: s, next: i + 1 };
  const hexLen = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
  if (hexLen > 0) {
    const h = q.slice(i + 1, i + 1 + hexLen);
    if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(h)) return null;
    const v = parseInt(h, 16);
    if (c === 'x') return { text: String.fromCharCode(v), next: i + 1 + hexLen };
    if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return null;
    return { text: String.fromCodePoint(v), next: i + 1 + hexLen };
  }
  if (c >= '0' && c <= '7') {
    const o = q.slice(i, i + 3);
    if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) return null;
    return { text: String.fromCharCode(parseInt(o, 8)), next: i + 3 };
  }
  return null;
}
