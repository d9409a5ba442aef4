/**
 * Go's fmt.Sprintf / Sprint / Sprintln for template values: the verbs %v %s %d %f %e %g %q %x %X
 * %o %b %c %t %T %%, flags (+ - # 0 space), width and precision (also `*`), and Go's error forms
 * (%!d(string=x), %!s(MISSING), %!(EXTRA …)).
 */
import { GoTime } from './go-time.ts';
import { formatFloatV, formatV, GoInt, type GoValue, typeName } from './values.ts';
import { goQuote } from '../../lib/go-quote.ts';

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width: number | null;
  prec: number | null;
}

export function sprintf(format: string, args: readonly GoValue[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = {
      plus: false,
      minus: false,
      sharp: false,
      zero: false,
      space: false,
      width: null,
      prec: null,
    };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '+') spec.plus = true;
      else if (c === '-') spec.minus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === '0') spec.zero = true;
      else if (c === ' ') spec.space = true;
      else break;
    }
    const num = (): number | null => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return a instanceof GoInt ? Number(a.v) : null;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return null;
      i += m[0].length;
      return Number(m[0]);
    };
    spec.width = num();
    if (format[i] === '.') {
      i++;
      spec.prec = num() ?? 0;
    }
    const verb = format[i];
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    i++;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++] ?? null;
    out += pad(formatOne(verb, arg, spec), spec, verb, arg);
  }
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${typeName(a)}=${formatV(a)}`)
      .join(', ')})`;
  }
  return out;
}

function pad(s: string, spec: Spec, verb: string, arg: GoValue): string {
  if (spec.width === null || s.length >= spec.width) return s;
  const fill = spec.width - [...s].length;
  if (fill <= 0) return s;
  if (spec.minus) return s + ' '.repeat(fill);
  const numeric = typeof arg === 'number' || arg instanceof GoInt;
  if (spec.zero && numeric && verb !== 's' && verb !== 'q') {
    const sign = /^[+\- ]/.test(s) ? (s[0] ?? '') : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function bad(verb: string, arg: GoValue): string {
  return `%!${verb}(${typeName(arg)}=${formatV(arg)})`;
}

function signed(s: string, neg: boolean, spec: Spec): string {
  if (neg) return '-' + s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function formatOne(verb: string, arg: GoValue, spec: Spec): string {
  if (verb === 'T') return typeName(arg);
  if (verb === 'v') {
    if (typeof arg === 'number') return formatFloat(arg, 'g', spec);
    if (arg instanceof GoInt) return formatInt(arg, 'd', spec);
    if (typeof arg === 'string' && spec.sharp) return quote(arg);
    return formatV(arg);
  }
  if (typeof arg === 'string') {
    switch (verb) {
      case 's':
        return spec.prec === null ? arg : [...arg].slice(0, spec.prec).join('');
      case 'q':
        return quote(arg);
      case 'x':
      case 'X': {
        const hex = Buffer.from(arg, 'utf8').toString('hex');
        return verb === 'X' ? hex.toUpperCase() : hex;
      }
    }
    return bad(verb, arg);
  }
  if (arg instanceof GoInt) {
    if (verb === 'c') return String.fromCodePoint(Number(arg.v));
    if (verb === 'q') return `'${String.fromCodePoint(Number(arg.v))}'`;
    if ('dboxX'.includes(verb)) return formatInt(arg, verb, spec);
    return bad(verb, arg);
  }
  if (typeof arg === 'number') {
    if ('eEfFgG'.includes(verb)) return formatFloat(arg, verb, spec);
    return bad(verb, arg);
  }
  if (typeof arg === 'boolean') return verb === 't' ? String(arg) : bad(verb, arg);
  if (arg instanceof GoTime && verb === 's') return arg.toString();
  if (arg === null) return `%!${verb}(<nil>)`;
  return bad(verb, arg);
}

function formatInt(n: GoInt, verb: string, spec: Spec): string {
  const neg = n.v < 0n;
  const abs = neg ? -n.v : n.v;
  const base = verb === 'b' ? 2 : verb === 'o' ? 8 : verb === 'x' || verb === 'X' ? 16 : 10;
  let s = abs.toString(base);
  if (verb === 'X') s = s.toUpperCase();
  if (spec.prec !== null) s = s.padStart(spec.prec, '0');
  if (spec.sharp)
    s = (base === 16 ? (verb === 'X' ? '0X' : '0x') : base === 8 ? '0' : base === 2 ? '0b' : '') + s;
  return signed(s, neg, spec);
}

function formatFloat(f: number, verb: string, spec: Spec): string {
  if (!Number.isFinite(f)) {
    const s = Number.isNaN(f) ? 'NaN' : 'Inf';
    return Number.isNaN(f)
      ? spec.plus
        ? '+NaN'
        : s
      : signed(s, f < 0, { ...spec, plus: spec.plus || f > 0 });
  }
  const neg = f < 0 || Object.is(f, -0);
  const a = Math.abs(f);
  let s: string;
  switch (verb) {
    case 'f':
    case 'F':
      s = toFixedGo(a, spec.prec ?? 6);
      break;
    case 'e':
    case 'E':
      s = goExponent(a.toExponential(spec.prec ?? 6));
      break;
    default:
      if (spec.prec === null) s = formatFloatV(a);
      else {
        const p = spec.prec === 0 ? 1 : spec.prec;
        const e = Math.floor(Math.log10(a || 1));
        const exp = Number(a.toExponential(p - 1).split('e')[1]);
        s =
          exp < -4 || exp >= p
            ? goExponent(a.toExponential(p - 1).replace(/\.?0+e/, 'e'))
            : a
                .toFixed(Math.max(0, p - 1 - exp))
                .replace(/(\.\d*?)0+$/, '$1')
                .replace(/\.$/, '');
        void e;
      }
  }
  if (verb === 'E' || verb === 'G') s = s.toUpperCase();
  return signed(s, neg, spec);
}

/** JS toFixed rounds exact ties up; Go rounds them to even. Ties are exact binary values. */
function toFixedGo(a: number, prec: number): string {
  if (a >= 1e21) return BigInt(Math.round(a)).toString() + (prec > 0 ? '.' + '0'.repeat(prec) : '');
  const s = a.toFixed(prec);
  const scaled = a * 10 ** prec;
  if (prec <= 20 && Number.isFinite(scaled) && scaled % 1 === 0.5 && scaled * 2 === Math.floor(scaled * 2)) {
    // an exact tie only when the scaled value is exactly representable: round half to even
    const down = (Math.floor(scaled) / 10 ** prec).toFixed(prec);
    return Math.floor(scaled) % 2 === 0 ? down : s;
  }
  return s;
}

function goExponent(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** strconv.Quote */
export const quote = goQuote;

/** fmt.Sprint: a space between operands when neither is a string. */
export function sprint(args: readonly GoValue[]): string {
  let out = '';
  for (let k = 0; k < args.length; k++) {
    const a = args[k] ?? null;
    if (k > 0 && typeof a !== 'string' && typeof args[k - 1] !== 'string') out += ' ';
    out += formatV(a);
  }
  return out;
}

/** fmt.Sprintln: always spaces, and a newline. */
export function sprintln(args: readonly GoValue[]): string {
  return args.map((a) => formatV(a)).join(' ') + '\n';
}
