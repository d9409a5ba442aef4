/**
 * A JSON scanner with the exact tolerance and error messages of buger/jsonparser, the library
 * behind Loki's `json` and `unpack` stages (the messages end up in `__error_details__`). It works
 * on index ranges of the line and builds nothing but the values asked for.
 */

export const ERR_MALFORMED_JSON = 'Malformed JSON error';
export const ERR_MALFORMED_STRING = `Value is string, but can't find closing '"' symbol`;
export const ERR_MALFORMED_ARRAY = "Value is array, but can't find closing ']' symbol";
export const ERR_MALFORMED_OBJECT = "Value looks like object, but can't find closing '}' symbol";
export const ERR_UNKNOWN_VALUE = 'Unknown value type';
export const ERR_STRING_ESCAPE = 'Encountered an invalid escape sequence in a string';

export const enum VT {
  NotExist,
  String,
  Number,
  Object,
  Array,
  Boolean,
  Null,
  Unknown,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the first non-whitespace char in [from, to), or -1. */
export function nextToken(s: string, from: number, to: number): number {
  for (let i = from; i < to; i++) if (!isWs(s.charCodeAt(i))) return i;
  return -1;
}

/** From just after an opening quote: index just past the closing quote, or -1; `escaped` set. */
export let lastStringEscaped = false;
export function stringEnd(s: string, from: number, to: number): number {
  let escaped = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      if (!escaped) {
        lastStringEscaped = false;
        return i + 1;
      }
      let j = i - 1;
      for (;;) {
        if (j < from || s.charCodeAt(j) !== BACKSLASH) {
          lastStringEscaped = true;
          return i + 1; // even number of backslashes
        }
        j--;
        if (j < from || s.charCodeAt(j) !== BACKSLASH) break; // odd: an escaped quote
        j--;
      }
    } else if (c === BACKSLASH) escaped = true;
  }
  lastStringEscaped = escaped;
  return -1;
}

/** From an opening bracket at `from`: index just past the matching close, or -1. */
export function blockEnd(s: string, from: number, to: number, open: number, close: number): number {
  let level = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      const se = stringEnd(s, i + 1, to);
      if (se < 0) return -1;
      i = se - 1;
    } else if (c === open) level++;
    else if (c === close) {
      level--;
      if (level === 0) return i + 1;
    }
  }
  return -1;
}

function tokenEnd(s: string, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (isWs(c) || c === 0x2c || c === 0x7d || c === 0x5d) return i;
  }
  return to;
}

/** A value found by `getValue`: [start, end) of its text (strings without quotes). */
export interface Value {
  type: VT;
  start: number;
  end: number;
  /** index just past the value in the source */
  next: number;
  error: string | null;
}

/** jsonparser.Get(data) without keys: the first value at or after `from`. */
export function getValue(s: string, from: number, to: number, out: Value): Value {
  out.error = null;
  const o = nextToken(s, from, to);
  if (o < 0) {
    out.type = VT.NotExist;
    out.error = ERR_MALFORMED_JSON;
    return out;
  }
  const c = s.charCodeAt(o);
  out.start = o;
  if (c === QUOTE) {
    out.type = VT.String;
    const e = stringEnd(s, o + 1, to);
    if (e < 0) {
      out.error = ERR_MALFORMED_STRING;
      return out;
    }
    out.start = o + 1;
    out.end = e - 1;
    out.next = e;
    return out;
  }
  if (c === 0x5b || c === 0x7b) {
    const isArr = c === 0x5b;
    out.type = isArr ? VT.Array : VT.Object;
    const e = isArr ? blockEnd(s, o, to, 0x5b, 0x5d) : blockEnd(s, o, to, 0x7b, 0x7d);
    if (e < 0) {
      out.error = isArr ? ERR_MALFORMED_ARRAY : ERR_MALFORMED_OBJECT;
      return out;
    }
    out.end = e;
    out.next = e;
    return out;
  }
  const e = tokenEnd(s, o, to);
  out.end = e;
  out.next = e;
  const len = e - o;
  if (c === 0x74 || c === 0x66) {
    if ((len === 4 && s.startsWith('true', o)) || (len === 5 && s.startsWith('false', o)))
      out.type = VT.Boolean;
    else {
      out.type = VT.Unknown;
      out.error = ERR_UNKNOWN_VALUE;
    }
  } else if (c === 0x75 || c === 0x6e) {
    if (len === 4 && s.startsWith('null', o)) out.type = VT.Null;
    else {
      out.type = VT.Unknown;
      out.error = ERR_UNKNOWN_VALUE;
    }
  } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) out.type = VT.Number;
  else {
    out.type = VT.Unknown;
    out.error = ERR_UNKNOWN_VALUE;
  }
  return out;
}

/** jsonparser.Unescape of a string's inner text (`\'` too for logfmt); null on a bad escape. */
export function unescape(s: string, from: number, to: number, singleQuote = false): string | null {
  let i = s.indexOf('\\', from);
  if (i < 0 || i >= to) return s.slice(from, to);
  let out = s.slice(from, i);
  while (i < to) {
    const c = s[i]!;
    if (c !== '\\') {
      const next = s.indexOf('\\', i);
      const stop = next < 0 || next >= to ? to : next;
      out += s.slice(i, stop);
      i = stop;
      continue;
    }
    const e = s[i + 1] ?? '';
    i += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case "'":
        if (!singleQuote) return null;
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const h = s.slice(i, i + 4);
        if (i + 4 > to || !/^[0-9a-fA-F]{4}$/.test(h)) return null;
        i += 4;
        let cp = parseInt(h, 16);
        if (cp >= 0xd800 && cp < 0xdc00) {
          // a surrogate pair, or the replacement character when the low half is missing
          const h2 = s.slice(i + 2, i + 6);
          if (s[i] === '\\' && s[i + 1] === 'u' && i + 6 <= to && /^[0-9a-fA-F]{4}$/.test(h2)) {
            const lo = parseInt(h2, 16);
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              i += 6;
            } else cp = 0xfffd;
          } else cp = 0xfffd;
        } else if (cp >= 0xdc00 && cp < 0xe000) cp = 0xfffd;
        out += String.fromCodePoint(cp);
        break;
      }
      default:
        return null;
    }
  }
  return out;
}

/** A JSON string value as Loki's readValue makes it: unescaped; "" on a bad escape or U+FFFD. */
export function stringValue(s: string, from: number, to: number): string {
  const v = unescape(s, from, to);
  if (v === null || v.includes('\uFFFD')) return '';
  return v;
}

/**
 * jsonparser.ObjectEach over the object starting at or after `from`. `cb` gets `ctx` (passed
 * through, so that callers need no per-call closure), the key (already unescaped) and the value;
 * returns an error message or null.
 */
export function objectEach(
  s: string,
  from: number,
  to: number,
  cb: (ctx: string, key: string, v: Value) => string | null,
  ctx = '',
): string | null {
  let o = nextToken(s, from, to);
  if (o < 0 || s.charCodeAt(o) !== 0x7b) return ERR_MALFORMED_OBJECT;
  o++;
  o = nextToken(s, o, to);
  if (o < 0) return ERR_MALFORMED_JSON;
  if (s.charCodeAt(o) === 0x7d) return null;
  const v: Value = { type: VT.NotExist, start: 0, end: 0, next: 0, error: null };
  while (o < to) {
    const c = s.charCodeAt(o);
    if (c === 0x7d) return null;
    if (c !== QUOTE) return ERR_MALFORMED_OBJECT;
    o++;
    const ke = stringEnd(s, o, to);
    if (ke < 0) return ERR_MALFORMED_JSON;
    let key: string;
    if (lastStringEscaped) {
      const k = unescape(s, o, ke - 1);
      if (k === null) return ERR_STRING_ESCAPE;
      key = k;
    } else key = s.slice(o, ke - 1);
    o = nextToken(s, ke, to);
    if (o < 0 || s.charCodeAt(o) !== 0x3a) return ERR_MALFORMED_JSON;
    o++;
    getValue(s, o, to, v);
    if (v.error !== null) return v.error;
    const err = cb(ctx, key, v);
    if (err !== null) return err;
    o = nextToken(s, v.next, to);
    if (o < 0) return ERR_MALFORMED_ARRAY;
    const d = s.charCodeAt(o);
    if (d === 0x7d) return null;
    if (d !== 0x2c) return ERR_MALFORMED_OBJECT;
    o = nextToken(s, o + 1, to);
    if (o < 0) return ERR_MALFORMED_ARRAY;
  }
  return ERR_MALFORMED_OBJECT;
}
