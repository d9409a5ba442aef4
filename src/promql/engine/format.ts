/** Go-compatible number formatting (strconv.FormatFloat 'f'/'g' with shortest precision). */
import type { PosRange } from '../ast.ts';

function special(x: number): string | null {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return null;
}

/** Shortest round-trip digits and decimal exponent: x = 0.d1d2d3... × 10^dp. */
function digits(x: number): { neg: boolean; d: string; dp: number } {
  const neg = x < 0 || Object.is(x, -0);
  const [mant = '0', exp = '0'] = Math.abs(x).toExponential().split('e');
  const d = mant.replace('.', '');
  return { neg, d, dp: Number(exp) + 1 };
}

/** strconv.FormatFloat(x, fmt, -1, 64) for fmt 'f' or 'g'. */
export function formatFloat(x: number, fmt: 'f' | 'g'): string {
  const sp = special(x);
  if (sp !== null) return sp;
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const { neg, d, dp } = digits(x);
  const sign = neg ? '-' : '';
  const exp = dp - 1;
  if (fmt === 'g' && (exp < -4 || exp >= 6)) {
    const m = d.length > 1 ? `${d[0]}.${d.slice(1)}` : d;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${d}`;
  if (dp >= d.length) return `${sign}${d}${'0'.repeat(dp - d.length)}`;
  return `${sign}${d.slice(0, dp)}.${d.slice(dp)}`;
}

/** Prometheus' position suffix of annotations, "(line:column)"; queries are one line here. */
export function posString(pos: PosRange): string {
  return `(1:${pos.start + 1})`;
}

/**
 * Go's %q of a string. Invalid UTF-8 bytes arrive as lone surrogates U+DC80..U+DCFF (the parser's
 * surrogate escape) and print as \xNN like Go prints the raw bytes.
 */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\udc([89a-f][0-9a-f])/g, '\\x$1');
}
