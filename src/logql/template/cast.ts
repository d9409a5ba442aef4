/**
 * spf13/cast's ToInt64 / ToFloat64 as sprig's math functions use them: a conversion failure is 0,
 * never an error ("12.5" → 0 for integers, "12.0" → 12, "0x1f" → 31, "010" → 8, "abc" → 0).
 */
import { GoInt, type GoValue } from './values.ts';

const MIN_I64 = -(2n ** 63n);

export function toInt64(v: GoValue): bigint {
  if (v instanceof GoInt) return v.v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : MIN_I64;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') return parseIntBase0(trimZeroDecimal(v)) ?? 0n;
  return 0n;
}

export function toFloat64(v: GoValue): number {
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseFloatGo(v) ?? 0;
  return 0;
}

/** cast's trimZeroDecimal: "12.000" → "12"; anything else unchanged. */
function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** strconv.ParseInt(s, 0, 64) */
export function parseIntBase0(s: string): bigint | null {
  const m = /^([+-]?)(.*)$/.exec(s);
  const sign = m?.[1] ?? '';
  let body = m?.[2] ?? '';
  if (body === '') return null;
  let base = 10;
  let prefixed = false;
  if (/^0[xX]/.test(body)) [base, body, prefixed] = [16, body.slice(2), true];
  else if (/^0[bB]/.test(body)) [base, body, prefixed] = [2, body.slice(2), true];
  else if (/^0[oO]/.test(body)) [base, body, prefixed] = [8, body.slice(2), true];
  else if (/^0\d/.test(body) || /^0_/.test(body)) [base, body, prefixed] = [8, body.slice(1), true];
  // underscores only with a base prefix (base 0), between digits
  if (body.includes('_')) {
    if (!prefixed || !/^_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/.test(body)) return null;
    body = body.replace(/_/g, '');
  }
  const digits = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[
    base as 2 | 8 | 10 | 16
  ];
  if (!digits.test(body)) return null;
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[base as 2 | 8 | 10 | 16];
  const v = BigInt(prefix + body) * (sign === '-' ? -1n : 1n);
  if (v < MIN_I64 || v >= 2n ** 63n) return null;
  return v;
}

/** strconv.ParseFloat(s, 64): decimal, hex floats, inf/infinity/nan (any case), underscores after a prefix. */
export function parseFloatGo(s: string): number | null {
  const m = /^([+-]?)(.*)$/.exec(s);
  const neg = m?.[1] === '-';
  const body = m?.[2] ?? '';
  const lower = body.toLowerCase();
  let v: number | null = null;
  if (lower === 'inf' || lower === 'infinity') v = Infinity;
  else if (lower === 'nan') return m?.[1] === '' ? NaN : null;
  else if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(body)) v = Number(body);
  else {
    const hex = /^0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9]+)$/.exec(body);
    if (hex) {
      const int = (hex[1] ?? '').replace(/_/g, '');
      const frac = (hex[2] ?? '').replace(/_/g, '');
      if (int === '' && frac === '') return null;
      v = parseInt(int + frac || '0', 16) * 2 ** (Number(hex[3]) - 4 * frac.length);
    } else if (/^0[xX][0-9a-fA-F_]+$/.test(body)) return null;
    else if (/^[0-9]+(_[0-9]+)+(\.[0-9_]*)?$/.test(body)) return null;
  }
  if (v === null) return null;
  return neg ? -v : v;
}
