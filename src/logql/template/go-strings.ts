/**
 * Go's string functions where JS differs: Go strings are UTF-8 bytes (sprig's trunc/substr slice
 * bytes), Go's whitespace set, strings.Title's word rule, strings.Replace with a count, URL query
 * escaping, time.ParseDuration and go-humanize's ParseBytes.
 */
import { HUMANIZE_BYTE_UNITS } from '../pipeline/go-conversions.ts';

export class GoRuntimeError extends Error {}

// unicode.IsSpace
const SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const TRIM_SPACE = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');
const IS_SPACE = new RegExp(`^[${SPACE}]$`);

export const trimSpace = (s: string): string => s.replace(TRIM_SPACE, '');

// eslint-disable-next-line no-control-regex -- ASCII is \x00-\x7f
const isAscii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

export function byteLen(s: string): number {
  return isAscii(s) ? s.length : utf8(s).length;
}

/** s[lo:hi] on UTF-8 bytes, with Go's runtime panic text when out of range. */
export function sliceBytes(s: string, lo: number | null, hi: number | null): string {
  const len = byteLen(s);
  const l = lo ?? 0;
  const h = hi ?? len;
  if (h < 0 || h > len)
    throw new GoRuntimeError(`runtime error: slice bounds out of range [:${h}] with length ${len}`);
  if (l < 0 || l > h) throw new GoRuntimeError(`runtime error: slice bounds out of range [${l}:${h}]`);
  if (isAscii(s)) return s.slice(l, h);
  return utf8(s).subarray(l, h).toString('utf8');
}

/** strings.Trim / TrimLeft / TrimRight with a cutset of runes. */
export function trimCutset(s: string, cutset: string, left: boolean, right: boolean): string {
  if (cutset === '' || s === '') return s;
  const set = new Set(cutset);
  const runes = [...s];
  let a = 0;
  let b = runes.length;
  if (left) while (a < b && set.has(runes[a] ?? '')) a++;
  if (right) while (b > a && set.has(runes[b - 1] ?? '')) b--;
  return runes.slice(a, b).join('');
}

/** strings.Replace(s, old, new, n); n < 0 replaces all. */
export function replaceN(s: string, old: string, nw: string, n: number): string {
  if (n === 0 || old === nw) return s;
  if (old === '') {
    const runes = [...s];
    let out = '';
    let done = 0;
    for (let i = 0; i <= runes.length; i++) {
      if (n < 0 || done < n) {
        out += nw;
        done++;
      }
      out += runes[i] ?? '';
    }
    return out;
  }
  if (n < 0) return s.split(old).join(nw);
  let out = '';
  let from = 0;
  for (let k = 0; k < n; k++) {
    const at = s.indexOf(old, from);
    if (at < 0) break;
    out += s.slice(from, at) + nw;
    from = at + old.length;
  }
  return out + s.slice(from);
}

/** strings.Title: upper-cases the first letter of each word (deprecated in Go, but what sprig calls). */
export function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const r of s) {
    out += isSeparator(prev) ? r.toUpperCase() : r;
    prev = r;
  }
  return out;
}

function isSeparator(r: string): boolean {
  const cp = r.codePointAt(0) ?? 0;
  if (cp <= 0x7f) return !/[0-9A-Za-z_]/.test(r);
  if (/[\p{L}\p{Nd}]/u.test(r)) return false;
  return IS_SPACE.test(r);
}

/** url.QueryEscape */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of utf8(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** url.QueryUnescape */
export function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        const bad = s.slice(i, i + 3);
        throw new GoRuntimeError(`invalid URL escape ${JSON.stringify(bad)}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') bytes.push(0x20);
    else bytes.push(...utf8(c));
  }
  return Buffer.from(bytes).toString('utf8');
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  μs: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** time.ParseDuration, in nanoseconds. */
export function parseDuration(s: string): bigint {
  const orig = s;
  const invalid = (): never => {
    throw new GoRuntimeError(`time: invalid duration ${JSON.stringify(orig)}`);
  };
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') invalid();
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const int = m?.[1] ?? '';
    const frac = m?.[2];
    if (int === '' && (frac === undefined || frac === '')) invalid();
    s = s.slice(m?.[0].length ?? 0);
    const u = /^[^\d.]+/.exec(s)?.[0];
    if (u === undefined) throw new GoRuntimeError(`time: missing unit in duration ${JSON.stringify(orig)}`);
    const unit = DURATION_UNITS[u];
    if (unit === undefined)
      throw new GoRuntimeError(`time: unknown unit ${JSON.stringify(u)} in duration ${JSON.stringify(orig)}`);
    s = s.slice(u.length);
    let v = BigInt(int === '' ? '0' : int) * unit;
    if (frac !== undefined && frac !== '') {
      // fractional part scaled by the unit, truncated (Go keeps ~19 digits; this is exact)
      v += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    }
    total += v;
    if (total > 2n ** 63n - 1n) invalid();
  }
  return neg ? -total : total;
}

/** go-humanize ParseBytes ("12KB", "3.1 MiB", "1,024"): a whole number of bytes. */
export function parseBytes(s: string): number {
  const m = /^[\p{Nd}.,]*/u.exec(s);
  const numText = (m?.[0] ?? '').replace(/,/g, '');
  const f = /^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(numText) ? Number(numText) : NaN;
  if (Number.isNaN(f))
    throw new GoRuntimeError(`strconv.ParseFloat: parsing ${JSON.stringify(numText)}: invalid syntax`);
  const extra = trimSpace(s.slice(m?.[0].length ?? 0)).toLowerCase();
  const mult = HUMANIZE_BYTE_UNITS[extra];
  if (mult === undefined) throw new GoRuntimeError(`unhandled size name: ${extra}`);
  const v = f * mult;
  if (v >= 2 ** 64) throw new GoRuntimeError(`too large: ${s}`);
  return Math.trunc(v);
}
