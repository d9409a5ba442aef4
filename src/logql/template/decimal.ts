/**
 * The decimal arithmetic behind sprig's addf/subf/mulf/divf (shopspring/decimal): each float64
 * becomes the exact decimal of its shortest representation, the operation is exact (division
 * rounds half away from zero to 16 places), and the result converts back to the nearest float64.
 * So `addf 0.1 0.2` is 0.3, not 0.30000000000000004.
 */

interface Dec {
  m: bigint;
  e: number;
}

export class DecimalError extends Error {}

const DIVISION_PRECISION = 16;

function fromFloat(f: number): Dec {
  if (!Number.isFinite(f))
    throw new DecimalError(
      `Cannot create a Decimal from ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`,
    );
  const [mant = '0', exp = '0'] = f.toExponential().split('e');
  const digits = mant.replace('.', '').replace('-', '');
  const fracLen = mant.includes('.') ? (mant.split('.')[1]?.length ?? 0) : 0;
  const m = BigInt(digits) * (f < 0 ? -1n : 1n);
  return { m, e: Number(exp) - fracLen };
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  if (a.e === b.e) return [a.m, b.m, a.e];
  if (a.e < b.e) return [a.m, b.m * pow10(b.e - a.e), a.e];
  return [a.m * pow10(a.e - b.e), b.m, b.e];
}

function toFloat(d: Dec): number {
  return Number(`${d.m}e${d.e}`);
}

type Op = 'add' | 'sub' | 'mul' | 'div';

function apply(op: Op, a: Dec, b: Dec): Dec {
  switch (op) {
    case 'add': {
      const [x, y, e] = align(a, b);
      return { m: x + y, e };
    }
    case 'sub': {
      const [x, y, e] = align(a, b);
      return { m: x - y, e };
    }
    case 'mul':
      return { m: a.m * b.m, e: a.e + b.e };
    case 'div': {
      if (b.m === 0n) throw new DecimalError('decimal division by zero');
      // q = a / b scaled to 10^-16, truncated, then rounded half away from zero
      const k = a.e - b.e + DIVISION_PRECISION;
      const num = k >= 0 ? a.m * pow10(k) : a.m;
      const den = k >= 0 ? b.m : b.m * pow10(-k);
      let q = num / den;
      const r = num % den;
      const absR2 = (r < 0n ? -r : r) * 2n;
      const absDen = den < 0n ? -den : den;
      if (absR2 >= absDen) q += num < 0n !== den < 0n ? -1n : 1n;
      return { m: q, e: -DIVISION_PRECISION };
    }
  }
}

/** execDecimalOp: folds `rest` into `first` with the operation, all in decimal. */
export function decimalOp(op: Op, first: number, rest: readonly number[]): number {
  let acc = fromFloat(first);
  for (const x of rest) acc = apply(op, acc, fromFloat(x));
  return toFloat(acc);
}
