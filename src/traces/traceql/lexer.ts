/**
 * TraceQL tokens. Positions are 0-based offsets; errors report Tempo's 1-based `line, col`.
 * Attribute references (`span.http.route`, `.x`, `resource."a b"`) and scoped intrinsics
 * (`span:duration`) are single tokens, as in Tempo's lexer.
 */

export type TokType = 'ident' | 'attr' | 'scoped' | 'string' | 'int' | 'float' | 'duration' | 'punct' | 'eof';

export interface Token {
  type: TokType;
  /** punct: the operator; ident: the word; attr: the name; scoped: `scope:name`; numbers: the text */
  text: string;
  /** attr: the scope word ('' for a leading dot) */
  scope?: string;
  pos: number;
}

export class TraceQLError extends Error {}

/** `parse error at line L, col C: <what>` for a position in `src` */
export function parseError(src: string, pos: number, what: string): TraceQLError {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < src.length; i++) {
    if (src[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return new TraceQLError(`parse error at line ${line}, col ${col}: ${what}`);
}

const PUNCT = [
  '!>>',
  '!<<',
  '&>>',
  '&<<',
  '&&',
  '||',
  '!=',
  '>=',
  '<=',
  '=~',
  '!~',
  '>>',
  '<<',
  '!>',
  '!<',
  '&>',
  '&<',
  '&~',
  '{',
  '}',
  '(',
  ')',
  ',',
  '|',
  '=',
  '>',
  '<',
  '~',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];

const SCOPES = new Set(['span', 'resource', 'event', 'link', 'instrumentation', 'parent', 'trace']);
const ATTR_STOP = new Set([...'{}()=~!<>&|^,'.split(''), '"']);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdent = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+/;
const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration for the forms TraceQL lexes (no sign): nanoseconds */
export function durationNs(text: string): number {
  let ns = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    ns += Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
  return ns;
}

function readQuoted(src: string, start: number): { value: string; end: number } {
  const q = src[start]!;
  let i = start + 1;
  let out = '';
  while (i < src.length && src[i] !== q) {
    const c = src[i]!;
    if (c === '\\' && q === '"') {
      const n = src[i + 1];
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        '"': '"',
        '\\': '\\',
        "'": "'",
        a: '\x07',
        b: '\b',
        f: '\f',
        v: '\v',
      };
      if (n !== undefined && simple[n] !== undefined) {
        out += simple[n];
        i += 2;
        continue;
      }
      const hex = n === 'x' ? 2 : n === 'u' ? 4 : n === 'U' ? 8 : 0;
      if (
        hex > 0 &&
        /^[0-9a-fA-F]+$/.test(src.slice(i + 2, i + 2 + hex)) &&
        src.slice(i + 2, i + 2 + hex).length === hex
      ) {
        out += String.fromCodePoint(parseInt(src.slice(i + 2, i + 2 + hex), 16));
        i += 2 + hex;
        continue;
      }
      throw parseError(src, i, 'invalid char escape');
    }
    if (c === '\n' && q === '"') break;
    out += c;
    i++;
  }
  if (src[i] !== q) throw parseError(src, start, 'literal not terminated');
  return { value: out, end: i + 1 };
}

export function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === '"' || c === '`') {
      const { value, end } = readQuoted(src, i);
      out.push({ type: 'string', text: value, pos });
      i = end;
      continue;
    }
    if (c === "'") throw parseError(src, pos, 'invalid char literal');
    if (isDigit(c)) {
      const d = DURATION.exec(src.slice(i));
      if (d && !isIdent(src[i + d[0].length] ?? '')) {
        out.push({ type: 'duration', text: d[0], pos });
        i += d[0].length;
        continue;
      }
      const m = /^\d+(\.\d+)?/.exec(src.slice(i))!;
      out.push({ type: m[1] ? 'float' : 'int', text: m[0], pos });
      i += m[0].length;
      continue;
    }
    if (c === '.' && i + 1 < src.length && !isSpace(src[i + 1]!) && !isDigit(src[i + 1]!)) {
      const { name, end } = readAttrName(src, i + 1);
      out.push({ type: 'attr', scope: '', text: name, pos });
      i = end;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i;
      while (j < src.length && isIdent(src[j]!)) j++;
      const word = src.slice(i, j);
      if (SCOPES.has(word) && src[j] === '.' && j + 1 < src.length && !isSpace(src[j + 1]!)) {
        const { name, end } = readAttrName(src, j + 1);
        out.push({ type: 'attr', scope: word, text: name, pos });
        i = end;
        continue;
      }
      if (SCOPES.has(word) && src[j] === ':' && isIdentStart(src[j + 1] ?? '')) {
        let k = j + 1;
        while (k < src.length && isIdent(src[k]!)) k++;
        out.push({ type: 'scoped', text: src.slice(i, k), pos });
        i = k;
        continue;
      }
      out.push({ type: 'ident', text: word, pos });
      i = j;
      continue;
    }
    const p = PUNCT.find((x) => src.startsWith(x, i));
    if (!p) throw parseError(src, pos, `syntax error: unexpected ${c}`);
    out.push({ type: 'punct', text: p, pos });
    i += p.length;
  }
  out.push({ type: 'eof', text: '', pos: src.length });
  return out;
}

function readAttrName(src: string, start: number): { name: string; end: number } {
  if (src[start] === '"') {
    const { value, end } = readQuoted(src, start);
    return { name: value, end };
  }
  let j = start;
  while (j < src.length && !isSpace(src[j]!) && !ATTR_STOP.has(src[j]!)) j++;
  return { name: src.slice(start, j), end: j };
}

/** a token as goyacc names it in `unexpected X` */
export function tokenName(t: Token): string {
  switch (t.type) {
    case 'eof':
      return '$end';
    case 'ident':
      return 'IDENTIFIER';
    case 'string':
      return 'STRING';
    case 'int':
      return 'INTEGER';
    case 'float':
      return 'FLOAT';
    case 'duration':
      return 'DURATION';
    case 'attr':
      return 'IDENTIFIER';
    case 'scoped':
    case 'punct':
      return t.text;
  }
}
