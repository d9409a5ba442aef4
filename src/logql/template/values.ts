/**
 * Go values as templates see them. Strings, float64 and bool are JS primitives; Go's integer types
 * are a `GoInt` (the type matters: a function taking `int` rejects an `int64`, as Go's reflection
 * does); `time.Time` is a `GoTime`; a `fromJson` object is a `GoMap`; the labels (`.`) are the
 * caller's `ReadonlyMap<string, string>` (Go's `map[string]string`: a missing key reads as "").
 * `null` is Go's nil / "no value".
 */
import type { GoTime } from './go-time.ts';

export type IntKind = 'int' | 'int64' | 'uint8' | 'int32';

export class GoInt {
  constructor(
    readonly v: bigint,
    readonly kind: IntKind,
  ) {}
}

/** A decoded JSON object (`map[string]interface {}`). */
export class GoMap extends Map<string, GoValue> {}

export type LabelMap = ReadonlyMap<string, string>;

export type GoValue =
  string | number | boolean | GoInt | GoTime | GoMap | LabelMap | readonly GoValue[] | null;

export const int = (n: number | bigint): GoInt => new GoInt(BigInt.asIntN(64, BigInt(n)), 'int');
export const int64 = (n: bigint): GoInt => new GoInt(BigInt.asIntN(64, n), 'int64');

export function isLabelMap(v: GoValue): v is LabelMap {
  return v instanceof Map && !(v instanceof GoMap);
}

/** Go's type name of a value, as reflection prints it in error messages. */
export function typeName(v: GoValue): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return v.kind;
  if (v instanceof GoMap) return 'map[string]interface {}';
  if (v instanceof Map) return 'map[string]string';
  if (Array.isArray(v)) return '[]interface {}';
  return 'time.Time';
}

/** text/template's truth: non-zero, non-empty; a struct (time) is always true. */
export function isTrue(v: GoValue): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoInt) return v.v !== 0n;
  if (v instanceof Map) return v.size > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/** Go's `strconv.FormatFloat(f, 'g', -1, 64)` as `fmt` prints a float64 with %v. */
export function formatFloatV(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant = '', expStr = '0'] = f.toExponential().split('e');
  const exp = Number(expStr);
  // with the shortest representation, Go decides %e vs %f as if the precision were 6: 4.6e+06
  if (exp < -4 || exp >= 6) return goExp(mant, exp);
  return String(f);
}

function goExp(mant: string, exp: number): string {
  const abs = Math.abs(exp);
  return `${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
}

/** `fmt.Sprint` of one value (%v). */
export function formatV(v: GoValue, nilText = '<nil>'): string {
  if (v === null) return nilText;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatFloatV(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof GoInt) return v.v.toString();
  if (v instanceof Map) {
    const keys = [...v.keys()].sort();
    return `map[${keys.map((k) => `${k}:${formatV((v as ReadonlyMap<string, GoValue>).get(k) ?? null)}`).join(' ')}]`;
  }
  if (Array.isArray(v)) return `[${v.map((x: GoValue) => formatV(x)).join(' ')}]`;
  return (v as GoTime).toString();
}
