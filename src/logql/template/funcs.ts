/**
 * Loki's template function map (pkg/logql/log/fmt.go in Loki 3.4): its own functions plus the
 * sprig functions it imports, with their Go signatures (the types decide which arguments Go
 * accepts) and sprig's conversion rules (spf13/cast: a failed conversion is 0, not an error).
 */
import { Re2SyntaxError, translateRe2 } from '../../promql/functions/re2.ts';
import { toFloat64, toInt64 } from './cast.ts';
import { decimalOp, DecimalError } from './decimal.ts';
import { GoTime, loadLocation, parseTime, TimeParseError, UTC } from './go-time.ts';
import {
  byteLen,
  GoRuntimeError,
  parseBytes,
  parseDuration,
  queryEscape,
  queryUnescape,
  replaceN,
  sliceBytes,
  title,
  trimCutset,
  trimSpace,
} from './go-strings.ts';
import { GoInt, GoMap, type GoValue, int, int64 } from './values.ts';

export type ParamType = 'string' | 'int' | 'int64' | 'float64' | 'bool' | 'any' | 'time.Time';

/** What a function sees of the entry being formatted. */
export interface CallContext {
  line: string;
  ts: bigint;
}

export interface FuncDef {
  params: readonly ParamType[];
  variadic?: ParamType;
  call: (args: GoValue[], ctx: CallContext) => GoValue;
}

/** A function's error result or a Go runtime panic: shown as "error calling NAME: message". */
export class FuncError extends Error {}

const S = 'string';
const I = 'int';
const A = 'any';
const T = 'time.Time';

const str = (v: GoValue): string => v as string;
const num = (v: GoValue): number => Number((v as GoInt).v);
const time = (v: GoValue): GoTime => v as GoTime;

function def(params: readonly ParamType[], call: FuncDef['call'], variadic?: ParamType): FuncDef {
  return variadic === undefined ? { params, call } : { params, variadic, call };
}

const s1 = (f: (s: string) => GoValue): FuncDef => def([S], (a) => f(str(a[0] ?? '')));
const s2 = (f: (a: string, b: string) => GoValue): FuncDef =>
  def([S, S], (a) => f(str(a[0] ?? ''), str(a[1] ?? '')));

// --- regular expressions (Go's RE2 syntax, Go's ReplaceAllString semantics) ---

const regexps = new Map<string, RegExp>();

function compileRegexp(src: string): RegExp {
  let re = regexps.get(src);
  if (re) return re;
  try {
    const { source, flags } = translateRe2(src);
    re = new RegExp(source, `gu${flags}`);
  } catch (err) {
    const msg = err instanceof Re2SyntaxError || err instanceof SyntaxError ? err.message : String(err);
    throw new FuncError(`error parsing regexp: ${msg}: \`${src}\``);
  }
  if (regexps.size >= 1000) regexps.clear();
  regexps.set(src, re);
  return re;
}

/** Successive non-overlapping matches; an empty match right after the previous match is skipped (Go). */
function* matches(re: RegExp, s: string): Generator<RegExpExecArray> {
  let pos = 0;
  let prevEnd = -1;
  while (pos <= s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return;
    const end = m.index + m[0].length;
    if (m[0] === '' && m.index === prevEnd) {
      pos =
        m.index + (s.codePointAt(m.index) !== undefined && (s.codePointAt(m.index) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    yield m;
    prevEnd = end;
    pos = end > m.index ? end : end + ((s.codePointAt(end) ?? 0) > 0xffff ? 2 : 1);
  }
}

/** Go's Regexp.Expand template: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, m: RegExpExecArray): string {
  if (!template.includes('$')) return template;
  return template.replace(
    /\$(\$|\{([^}]*)\}|([A-Za-z0-9_]+))?/g,
    (all, what?: string, braced?: string, bare?: string) => {
      if (what === '$') return '$';
      const name = braced ?? bare;
      if (name === undefined || name === '' || (braced !== undefined && !/^[A-Za-z0-9_]+$/.test(braced)))
        return all;
      if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
      return m.groups?.[name] ?? '';
    },
  );
}

function regexReplace(regex: string, s: string, repl: string, literal: boolean): string {
  const re = compileRegexp(regex);
  let out = '';
  let copied = 0;
  for (const m of matches(re, s)) {
    out += s.slice(copied, m.index) + (literal ? repl : expand(repl, m));
    copied = m.index + m[0].length;
  }
  return out + s.slice(copied);
}

// --- numbers ---

const numArgs = (args: GoValue[]): number[] => args.map(toFloat64);

function divide(a: bigint, b: bigint, rem: boolean): GoValue {
  if (b === 0n) throw new FuncError('runtime error: integer divide by zero');
  return int64(rem ? a % b : a / b);
}

/** sprig round: Modf's fraction against roundOn decides ceil or floor. */
function round(a: GoValue, places: number, roundOn: number): number {
  const pow = 10 ** places;
  const digit = pow * toFloat64(a);
  const frac = digit - Math.trunc(digit);
  return (frac >= roundOn ? Math.ceil(digit) : Math.floor(digit)) / pow;
}

/** sprig's empty(): zero values and empty collections; a time (struct) is never empty. */
function empty(v: GoValue | undefined): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v === '';
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'boolean') return !v;
  if (v instanceof GoInt) return v.v === 0n;
  if (v instanceof Map) return v.size === 0;
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

function fromJson(s: string): GoValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    return null;
  }
  const conv = (x: unknown): GoValue => {
    if (x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') return x;
    if (Array.isArray(x)) return x.map(conv);
    const m = new GoMap();
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) m.set(k, conv(v));
    return m;
  };
  return conv(parsed);
}

function b64dec(s: string): string {
  const clean = s.replace(/[\r\n]/g, '');
  const bad = /[^A-Za-z0-9+/=]|=[^=]|^(?:.{4})*.{1,3}$/s.exec(clean);
  if (bad || /=.*[^=]/.test(clean) || clean.length % 4 !== 0) {
    const at = bad ? bad.index : clean.length - (clean.length % 4);
    return `illegal base64 data at input byte ${at}`;
  }
  return Buffer.from(clean, 'base64').toString('utf8');
}

function unixToTime(epoch: string): GoTime {
  if (!/^[+-]?\d+$/.test(epoch)) {
    throw new FuncError(
      `unable to parse time '${epoch}': strconv.ParseInt: parsing ${JSON.stringify(epoch)}: invalid syntax`,
    );
  }
  const i = BigInt(epoch);
  const scale: Record<number, bigint> = {
    5: 86_400_000_000_000n,
    10: 1_000_000_000n,
    13: 1_000_000n,
    16: 1000n,
    19: 1n,
  };
  const mult = scale[epoch.length];
  if (mult === undefined) throw new FuncError(`unable to parse time '${epoch}': %!w(<nil>)`);
  return GoTime.fromUnixNanos(i * mult);
}

function align(count: number, src: string, left: boolean): string {
  const runes = [...src];
  if (count < 0 || count === runes.length) return src;
  const pad = count - runes.length;
  if (pad > 0) return left ? src + ' '.repeat(pad) : ' '.repeat(pad) + src;
  return left ? runes.slice(0, count).join('') : runes.slice(runes.length - count).join('');
}

function dateArg(v: GoValue): GoTime {
  if (v instanceof GoTime) return v;
  if (v instanceof GoInt && v.kind !== 'uint8') return new GoTime(Number(v.v), 0, UTC);
  return nowTime();
}

function nowTime(): GoTime {
  return GoTime.fromUnixNanos(BigInt(Date.now()) * 1_000_000n);
}

function toDate(layout: string, value: string, zone: string): GoTime {
  try {
    return parseTime(layout, value, loadLocation(zone) ?? UTC);
  } catch (err) {
    if (err instanceof TimeParseError) return GoTime.zero();
    throw err;
  }
}

function wrapRuntime<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof GoRuntimeError || err instanceof DecimalError) throw new FuncError(err.message);
    throw err;
  }
}

const durationSeconds = s1((s) => {
  const ns = wrapRuntime(() => parseDuration(s));
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
});

export const FUNCTIONS: ReadonlyMap<string, FuncDef> = new Map<string, FuncDef>([
  // Loki's own (the "deprecated" Go-named ones take the string first, as Go's strings package does)
  ['ToLower', s1((s) => s.toLowerCase())],
  ['ToUpper', s1((s) => s.toUpperCase())],
  [
    'Replace',
    def([S, S, S, I], (a) => replaceN(str(a[0] ?? ''), str(a[1] ?? ''), str(a[2] ?? ''), num(a[3] ?? null))),
  ],
  ['Trim', s2((s, cut) => trimCutset(s, cut, true, true))],
  ['TrimLeft', s2((s, cut) => trimCutset(s, cut, true, false))],
  ['TrimRight', s2((s, cut) => trimCutset(s, cut, false, true))],
  ['TrimPrefix', s2((s, p) => (p !== '' && s.startsWith(p) ? s.slice(p.length) : s))],
  ['TrimSuffix', s2((s, p) => (p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s))],
  ['TrimSpace', s1(trimSpace)],
  [
    'regexReplaceAll',
    def([S, S, S], (a) => regexReplace(str(a[0] ?? ''), str(a[1] ?? ''), str(a[2] ?? ''), false)),
  ],
  [
    'regexReplaceAllLiteral',
    def([S, S, S], (a) => regexReplace(str(a[0] ?? ''), str(a[1] ?? ''), str(a[2] ?? ''), true)),
  ],
  ['count', s2((re, s) => int([...matches(compileRegexp(re), s)].length))],
  ['urldecode', s1((s) => wrapRuntime(() => queryUnescape(s)))],
  ['urlencode', s1(queryEscape)],
  ['bytes', s1((s) => wrapRuntime(() => parseBytes(s)))],
  ['duration', durationSeconds],
  ['duration_seconds', durationSeconds],
  ['unixEpochMillis', def([T], (a) => (time(a[0] ?? null).unixNanos() / 1_000_000n).toString())],
  [
    'unixEpochNanos',
    def([T], (a) =>
      time(a[0] ?? null)
        .unixNanos()
        .toString(),
    ),
  ],
  ['toDateInZone', def([S, S, S], (a) => toDate(str(a[0] ?? ''), str(a[2] ?? ''), str(a[1] ?? '')))],
  ['unixToTime', s1(unixToTime)],
  ['alignLeft', def([I, S], (a) => align(num(a[0] ?? null), str(a[1] ?? ''), true))],
  ['alignRight', def([I, S], (a) => align(num(a[0] ?? null), str(a[1] ?? ''), false))],
  // sprig
  ['b64enc', s1((s) => Buffer.from(s, 'utf8').toString('base64'))],
  ['b64dec', s1(b64dec)],
  ['lower', s1((s) => s.toLowerCase())],
  ['upper', s1((s) => s.toUpperCase())],
  ['title', s1(title)],
  [
    'trunc',
    def([I, S], (a) => {
      const c = num(a[0] ?? null);
      const s = str(a[1] ?? '');
      const len = byteLen(s);
      if (c < 0 && len + c > 0) return sliceBytes(s, len + c, null);
      if (c >= 0 && len > c) return sliceBytes(s, null, c);
      return s;
    }),
  ],
  [
    'substr',
    def([I, I, S], (a) => {
      const start = num(a[0] ?? null);
      const end = num(a[1] ?? null);
      const s = str(a[2] ?? '');
      return wrapRuntime(() => {
        if (start < 0) return sliceBytes(s, null, end);
        if (end < 0 || end > byteLen(s)) return sliceBytes(s, start, null);
        return sliceBytes(s, start, end);
      });
    }),
  ],
  ['contains', s2((sub, s) => s.includes(sub))],
  ['hasPrefix', s2((p, s) => s.startsWith(p))],
  ['hasSuffix', s2((p, s) => s.endsWith(p))],
  [
    'indent',
    def([I, S], (a) => {
      const pad = ' '.repeat(Math.max(0, num(a[0] ?? null)));
      return (
        pad +
        str(a[1] ?? '')
          .split('\n')
          .join('\n' + pad)
      );
    }),
  ],
  [
    'nindent',
    def([I, S], (a) => {
      const pad = ' '.repeat(Math.max(0, num(a[0] ?? null)));
      return (
        '\n' +
        pad +
        str(a[1] ?? '')
          .split('\n')
          .join('\n' + pad)
      );
    }),
  ],
  [
    'replace',
    def([S, S, S], (a) =>
      str(a[2] ?? '')
        .split(str(a[0] ?? ''))
        .join(str(a[1] ?? '')),
    ),
  ],
  [
    'repeat',
    def([I, S], (a) => {
      const n = num(a[0] ?? null);
      if (n < 0) throw new FuncError('strings: negative Repeat count');
      return str(a[1] ?? '').repeat(n);
    }),
  ],
  ['trim', s1(trimSpace)],
  ['trimAll', s2((cut, s) => trimCutset(s, cut, true, true))],
  ['trimSuffix', s2((p, s) => (p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s))],
  ['trimPrefix', s2((p, s) => (p !== '' && s.startsWith(p) ? s.slice(p.length) : s))],
  ['int', def([A], (a) => int(toInt64(a[0] ?? null)))],
  ['float64', def([A], (a) => toFloat64(a[0] ?? null))],
  ['add', def([], (a) => int64(a.reduce<bigint>((acc, x) => acc + toInt64(x), 0n)), A)],
  ['sub', def([A, A], (a) => int64(toInt64(a[0] ?? null) - toInt64(a[1] ?? null)))],
  ['mul', def([A], (a) => int64(a.reduce<bigint>((acc, x) => BigInt.asIntN(64, acc * toInt64(x)), 1n)), A)],
  ['div', def([A, A], (a) => divide(toInt64(a[0] ?? null), toInt64(a[1] ?? null), false))],
  ['mod', def([A, A], (a) => divide(toInt64(a[0] ?? null), toInt64(a[1] ?? null), true))],
  ['addf', def([], (a) => wrapRuntime(() => decimalOp('add', 0, numArgs(a))), A)],
  [
    'subf',
    def([A], (a) => wrapRuntime(() => decimalOp('sub', toFloat64(a[0] ?? null), numArgs(a.slice(1)))), A),
  ],
  [
    'mulf',
    def([A], (a) => wrapRuntime(() => decimalOp('mul', toFloat64(a[0] ?? null), numArgs(a.slice(1)))), A),
  ],
  [
    'divf',
    def([A], (a) => wrapRuntime(() => decimalOp('div', toFloat64(a[0] ?? null), numArgs(a.slice(1)))), A),
  ],
  ['max', def([A], (a) => int64(a.map(toInt64).reduce((x, y) => (y > x ? y : x))), A)],
  ['min', def([A], (a) => int64(a.map(toInt64).reduce((x, y) => (y < x ? y : x))), A)],
  ['maxf', def([A], (a) => numArgs(a).reduce((x, y) => goMax(x, y)), A)],
  ['minf', def([A], (a) => numArgs(a).reduce((x, y) => goMin(x, y)), A)],
  ['ceil', def([A], (a) => Math.ceil(toFloat64(a[0] ?? null)))],
  ['floor', def([A], (a) => Math.floor(toFloat64(a[0] ?? null)))],
  [
    'round',
    def(
      [A, I],
      (a) => round(a[0] ?? null, num(a[1] ?? null), a.length > 2 ? (a[2] as number) : 0.5),
      'float64',
    ),
  ],
  ['fromJson', s1(fromJson)],
  ['date', def([S, A], (a) => dateArg(a[1] ?? null).format(str(a[0] ?? '')))],
  ['toDate', s2((layout, value) => toDate(layout, value, 'Local'))],
  ['now', def([], () => nowTime())],
  ['unixEpoch', def([T], (a) => String(time(a[0] ?? null).sec))],
  ['default', def([A], (a) => (a.length < 2 || empty(a[1]) ? (a[0] ?? null) : (a[1] ?? null)), A)],
  // Loki's per-entry functions
  ['__line__', def([], (_a, ctx) => ctx.line)],
  ['__timestamp__', def([], (_a, ctx) => GoTime.fromUnixNanos(ctx.ts))],
]);

/** math.Max / math.Min: NaN wins; +0 beats -0 for max. */
function goMax(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (x === 0 && y === 0) return Object.is(x, -0) ? y : x;
  return x > y ? x : y;
}

function goMin(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (x === 0 && y === 0) return Object.is(x, -0) ? x : y;
  return x < y ? x : y;
}
