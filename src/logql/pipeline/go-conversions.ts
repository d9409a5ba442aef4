/**
 * Go's value parsers as Loki uses them on label values, with Go's exact error wording (it ends up
 * in `__error_details__`): strconv.ParseFloat, time.ParseDuration and go-humanize's ParseBytes.
 * Each returns the value, or an error message string.
 */

export type Parsed = { ok: true; value: number } | { ok: false; error: string };

const fail = (error: string): Parsed => ({ ok: false, error });

/** Go's strconv.Quote for the common case: ASCII escapes; printable text kept as is. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const DECIMAL = /^[+-]?(?:\d+(?:_\d+)*\.?(?:\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;
const HEX = /^[+-]?0[xX](?:_?[0-9a-fA-F]+)*\.?(?:[0-9a-fA-F]+(?:_?[0-9a-fA-F]+)*)?[pP][+-]?\d+$/;
const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/** strconv.ParseFloat(s, 64). */
export function parseGoFloat(s: string): Parsed {
  const syntax = (): Parsed => fail(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  if (s === '') return syntax();
  if (SPECIAL.test(s)) {
    const neg = s[0] === '-';
    if (/nan/i.test(s)) return s[0] === '+' || s[0] === '-' ? syntax() : { ok: true, value: NaN };
    return { ok: true, value: neg ? -Infinity : Infinity };
  }
  let v: number;
  if (DECIMAL.test(s)) {
    // Go accepts underscores only with a base prefix
    if (s.includes('_')) return syntax();
    v = Number(s);
  } else if (HEX.test(s)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F_]*)\.?([0-9a-fA-F_]*)[pP]([+-]?\d+)$/.exec(s)!;
    const int = (m[2] ?? '').replaceAll('_', '');
    const frac = (m[3] ?? '').replaceAll('_', '');
    if (int === '' && frac === '') return syntax();
    const mant = parseInt(int + frac || '0', 16);
    v = mant * 2 ** (Number(m[4]) - 4 * frac.length);
    if (m[1] === '-') v = -v;
  } else return syntax();
  if (!Number.isFinite(v)) return fail(`strconv.ParseFloat: parsing ${goQuote(s)}: value out of range`);
  return { ok: true, value: v };
}

const MAX_INT64 = 2 ** 63 - 1;
const MAX_UINT64 = 2 ** 64 - 1;

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5
  μs: 1e3, // U+03BC
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** time.ParseDuration: nanoseconds. */
export function parseGoDuration(orig: string): Parsed {
  const invalid = (): Parsed => fail(`time: invalid duration ${goQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, value: 0 };
  if (s === '') return invalid();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const intPart = m[1] ?? '';
    const fracPart = m[2];
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return invalid();
    s = s.slice(m[0].length);
    let u = 0;
    while (u < s.length) {
      const c = s.charCodeAt(u);
      if (c === 0x2e || (c >= 0x30 && c <= 0x39)) break;
      u++;
    }
    if (u === 0) return fail(`time: missing unit in duration ${goQuote(orig)}`);
    const unit = s.slice(0, u);
    s = s.slice(u);
    const mult = UNIT_NS[unit];
    if (mult === undefined) return fail(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(orig)}`);
    const v = Number(`${intPart || '0'}.${fracPart ?? ''}0`) * mult;
    total += v;
    if (total > MAX_INT64) return invalid();
  }
  return { ok: true, value: neg ? -total : total };
}

/** go-humanize's byte units (lowercase), shared with the template engine's `bytes` */
export const HUMANIZE_BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  p: 1e15,
  pb: 1e15,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
  e: 1e18,
  eb: 1e18,
  ei: 1024 ** 6,
  eib: 1024 ** 6,
};

/** go-humanize ParseBytes: "12KB" = 12000, "3.1MiB" = 3250585 (truncated to an integer). */
export function parseHumanBytes(s: string): Parsed {
  let n = 0;
  while (n < s.length) {
    const c = s[n]!;
    if (!(/\p{Nd}/u.test(c) || c === '.' || c === ',')) break;
    n++;
  }
  const num = s.slice(0, n).replaceAll(',', '');
  const f = parseGoFloat(num);
  if (!f.ok) return f;
  const extra = s.slice(n).trim().toLowerCase();
  const mult = HUMANIZE_BYTE_UNITS[extra];
  if (mult === undefined) return fail(`unhandled size name: ${extra}`);
  const v = f.value * mult;
  if (v >= MAX_UINT64) return fail(`too large: ${s}`);
  return { ok: true, value: Math.trunc(v) };
}

/** go-humanize's Bytes: SI units, one decimal below 10 (`1.0 kB`), Go's %.0f (half to even) above. */
export function humanizeBytes(s: number): string {
  if (s < 10) return `${s} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(s) / Math.log(1000));
  const val = Math.floor((s / 1000 ** e) * 10 + 0.5) / 10;
  if (val < 10) return `${val.toFixed(1)} ${sizes[e]!}`;
  let r = Math.round(val);
  if (r - val === 0.5 && r % 2 === 1) r--;
  return `${r} ${sizes[e]!}`;
}

/**
 * The bound a bytes label filter really compares with in Loki: its query frontend hands the
 * query on as text, and a bytes filter prints as `humanize.Bytes` without spaces (`1KiB` →
 * `1.0kB`), which parses back as 1000 (recorded: `bytes >= 1KiB` keeps `bytes=1KB`).
 */
export function lokiBytesBound(value: number): number {
  const p = parseHumanBytes(humanizeBytes(value).replace(' ', ''));
  return p.ok ? p.value : value;
}
