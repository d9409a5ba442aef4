/**
 * text/template's predefined functions (text/template/funcs.go): and, or, not, len, index, slice,
 * eq, ne, lt, le, gt, ge, print, printf, println, html, js, urlquery. They take untyped values;
 * `and` / `or` evaluate their arguments lazily, returning the deciding value itself.
 */
import { queryEscape } from './go-strings.ts';
import { GoTime } from './go-time.ts';
import { sprint, sprintf, sprintln } from './printf.ts';
import { GoInt, type GoValue, int, isLabelMap, isTrue, typeName } from './values.ts';

export class BuiltinError extends Error {}

export interface Builtin {
  min: number;
  max?: number;
  call: (args: GoValue[]) => GoValue;
  lazy?: (args: (() => GoValue)[], final: GoValue | undefined) => GoValue;
}

type Kind = 'bool' | 'int' | 'float' | 'string' | 'other' | 'invalid';

function kindOf(v: GoValue): Kind {
  if (v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  return v instanceof GoInt ? 'int' : 'other';
}

function eq(a: GoValue, rest: GoValue[]): boolean {
  if (rest.length === 0) throw new BuiltinError('missing argument for comparison');
  const k1 = kindOf(a);
  for (const b of rest) {
    const k2 = kindOf(b);
    let truth = false;
    if (k1 !== k2) {
      if (k1 !== 'invalid' && k2 !== 'invalid') throw new BuiltinError('incompatible types for comparison');
    } else if (k1 === 'int') truth = (a as GoInt).v === (b as GoInt).v;
    else if (k1 === 'invalid') truth = true;
    else if (k1 === 'other') {
      if (a instanceof GoTime && b instanceof GoTime)
        truth = a.sec === b.sec && a.nsec === b.nsec && a.loc === b.loc;
      else throw new BuiltinError(`non-comparable type ${typeName(b)}: ${typeName(b)}`);
    } else truth = a === b;
    if (truth) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const k1 = kindOf(a);
  const k2 = kindOf(b);
  if (k1 === 'invalid' || k1 === 'other' || k2 === 'invalid' || k2 === 'other') {
    throw new BuiltinError('invalid type for comparison');
  }
  if (k1 !== k2) throw new BuiltinError('incompatible types for comparison');
  if (k1 === 'bool') throw new BuiltinError('invalid type for comparison');
  if (k1 === 'int') return (a as GoInt).v < (b as GoInt).v;
  return (a as number | string) < (b as number | string);
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function length(v: GoValue): GoValue {
  if (typeof v === 'string') return int(utf8(v).length);
  if (v instanceof Map) return int(v.size);
  if (Array.isArray(v)) return int(v.length);
  if (v === null) throw new BuiltinError('len of nil pointer');
  throw new BuiltinError(`len of type ${typeName(v)}`);
}

function indexArg(i: GoValue, len: number): number {
  if (i === null) throw new BuiltinError('cannot index slice/array with nil');
  if (!(i instanceof GoInt)) throw new BuiltinError(`cannot index slice/array with type ${typeName(i)}`);
  const x = Number(i.v);
  if (x < 0 || x >= len) throw new BuiltinError(`index out of range: ${x}`);
  return x;
}

function index(item: GoValue, indexes: GoValue[]): GoValue {
  if (item === null) throw new BuiltinError('index of untyped nil');
  for (const i of indexes) {
    if (item === null) throw new BuiltinError('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = utf8(item);
      item = new GoInt(BigInt(bytes[indexArg(i, bytes.length)] ?? 0), 'uint8');
    } else if (Array.isArray(item)) {
      item = (item as GoValue[])[indexArg(i, item.length)] ?? null;
    } else if (item instanceof Map) {
      if (typeof i !== 'string') throw new BuiltinError(`value has type ${typeName(i)}; should be string`);
      if (isLabelMap(item)) item = item.get(i) ?? '';
      else item = item.get(i) ?? null;
    } else throw new BuiltinError(`can't index item of type ${typeName(item)}`);
  }
  return item;
}

function slice(item: GoValue, idx: GoValue[]): GoValue {
  if (item === null) throw new BuiltinError('slice of untyped nil');
  if (idx.length > 3) throw new BuiltinError(`too many slice indexes: ${idx.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (idx.length === 3) throw new BuiltinError('cannot 3-index slice a string');
    len = utf8(item).length;
  } else if (Array.isArray(item)) len = item.length;
  else throw new BuiltinError(`can't slice item of type ${typeName(item)}`);
  const bounds = [0, len];
  idx.slice(0, 2).forEach((x, k) => {
    if (!(x instanceof GoInt)) throw new BuiltinError(`cannot index slice/array with type ${typeName(x)}`);
    const n = Number(x.v);
    if (n < 0 || n > len) throw new BuiltinError(`index out of range: ${n}`);
    bounds[k] = n;
  });
  const [lo = 0, hi = len] = bounds;
  if (lo > hi) throw new BuiltinError(`invalid slice index: ${lo} > ${hi}`);
  if (typeof item === 'string') return utf8(item).subarray(lo, hi).toString('utf8');
  return (item as GoValue[]).slice(lo, hi);
}

/** evalArgs of html/js/urlquery: a lone string as is, else fmt.Sprint. */
const evalArgs = (args: GoValue[]): string =>
  args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args);

function htmlEscape(s: string): string {
  return s.replace(
    /[<>&'"\0]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' })[c] ?? c,
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const c of s) {
    const cp = c.codePointAt(0) ?? 0;
    if (c === '\\') out += '\\\\';
    else if (c === "'") out += "\\'";
    else if (c === '"') out += '\\"';
    else if (c === '<' || c === '>' || c === '&' || c === '=' || cp < 0x20)
      out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += c;
  }
  return out;
}

function logic(isOr: boolean): Builtin['lazy'] {
  return (args, final) => {
    let v: GoValue = null;
    for (const a of args) {
      v = a();
      if (isTrue(v) === isOr) return v;
    }
    return final !== undefined ? final : v;
  };
}

const never = (): GoValue => null;

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  ['and', { min: 1, call: never, lazy: logic(false) }],
  ['or', { min: 1, call: never, lazy: logic(true) }],
  ['not', { min: 1, max: 1, call: (a) => !isTrue(a[0] ?? null) }],
  ['len', { min: 1, max: 1, call: (a) => length(a[0] ?? null) }],
  ['index', { min: 1, call: (a) => index(a[0] ?? null, a.slice(1)) }],
  ['slice', { min: 1, call: (a) => slice(a[0] ?? null, a.slice(1)) }],
  ['eq', { min: 1, call: (a) => eq(a[0] ?? null, a.slice(1)) }],
  ['ne', { min: 2, max: 2, call: (a) => !eq(a[0] ?? null, [a[1] ?? null]) }],
  ['lt', { min: 2, max: 2, call: (a) => lt(a[0] ?? null, a[1] ?? null) }],
  ['le', { min: 2, max: 2, call: (a) => lt(a[0] ?? null, a[1] ?? null) || eq(a[0] ?? null, [a[1] ?? null]) }],
  [
    'gt',
    { min: 2, max: 2, call: (a) => !(lt(a[0] ?? null, a[1] ?? null) || eq(a[0] ?? null, [a[1] ?? null])) },
  ],
  ['ge', { min: 2, max: 2, call: (a) => !lt(a[0] ?? null, a[1] ?? null) }],
  ['print', { min: 0, call: (a) => sprint(a) }],
  ['println', { min: 0, call: (a) => sprintln(a) }],
  [
    'printf',
    {
      min: 1,
      call: (a) => {
        const f = a[0] ?? null;
        if (typeof f !== 'string')
          throw new BuiltinError(`wrong type for value; expected string; got ${typeName(f)}`);
        return sprintf(f, a.slice(1));
      },
    },
  ],
  ['html', { min: 0, call: (a) => htmlEscape(evalArgs(a)) }],
  ['js', { min: 0, call: (a) => jsEscape(evalArgs(a)) }],
  ['urlquery', { min: 0, call: (a) => queryEscape(evalArgs(a)) }],
]);
