/** TraceQL expressions printed as Tempo prints them in messages and `by(...)`/aggregate keys. */
import type { FieldExpr, Static } from './ast.ts';

const STATUS_NAMES = ['unset', 'ok', 'error'];
const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export const statusName = (code: number): string => STATUS_NAMES[code] ?? 'unset';
export const kindName = (code: number): string => KIND_NAMES[code] ?? 'unspecified';

export type StaticType = Static['t'];
export const staticType = (v: Static): StaticType => v.t;

/** Go's time.Duration.String() */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(Math.trunc(ns));
  let out: string;
  if (u < 1e3) out = `${u}ns`;
  else if (u < 1e6) out = `${fixed(u, 3)}µs`;
  else if (u < 1e9) out = `${fixed(u, 6)}ms`;
  else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    const s = `${fixed(u, 9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

/** n / 10^digits in decimal, without trailing zeros */
function fixed(n: number, digits: number): string {
  const unit = 10 ** digits;
  const int = Math.floor(n / unit);
  const frac = String(n - int * unit)
    .padStart(digits, '0')
    .replace(/0+$/, '');
  return frac === '' ? String(int) : `${int}.${frac}`;
}

export function staticString(v: Static): string {
  switch (v.t) {
    case 'string':
      return JSON.stringify(v.v);
    case 'int':
      return String(v.v);
    case 'float':
      return Number.isInteger(v.v) ? `${v.v}.0` : String(v.v);
    case 'duration':
      return goDuration(v.v);
    case 'bool':
      return String(v.v);
    case 'nil':
      return 'nil';
    case 'status':
      return statusName(v.v);
    case 'kind':
      return kindName(v.v);
  }
}

export function exprString(e: FieldExpr): string {
  switch (e.k) {
    case 'static':
      return staticString(e.v);
    case 'attr':
    case 'intrinsic':
      return e.text;
    case 'unary':
      return `${e.op}${exprString(e.e)}`;
    case 'binary':
      return `${exprString(e.l)} ${e.op} ${exprString(e.r)}`;
  }
}
