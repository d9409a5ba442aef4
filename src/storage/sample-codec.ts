/**
 * Metric sample values as Parquet columns, format 2 (docs/format/samples.md; issue 3). A random
 * walk of 3-decimal floats costs ~3 B/sample as plain doubles but carries ~1.5 B of information,
 * almost all of it in the difference between neighbours; Parquet's encodings in DuckDB do not
 * capture that, so values are transformed before Parquet:
 *
 * - a value that is a decimal with at most `MAX_SCALE` fraction digits becomes the integer
 *   k = v·10^e, where e (the scale) is chosen per chain; it round-trips only if k / 10^e === v
 *   (IEEE division, the same in JS and DuckDB), which is checked for every sample;
 * - within a chain each k is stored as the zigzag difference to the chain's previous k (the
 *   chain's first row holds k itself and `value_start`), split into its low 8 bits (`value_z0`)
 *   and the rest (`value_z1`), each written as the DOUBLE whose bit pattern is that integer (a
 *   subnormal). DuckDB writes DOUBLE columns of a V2 file with BYTE_STREAM_SPLIT, so zstd sees
 *   one byte stream per byte position: z0 is near uniform, z1 is small, the other six are zero;
 * - any other value (NaN, ±Inf, -0, more digits, |k| ≥ 2^50) is kept as is in `value`.
 *
 * Invariant: a chain is the encoded rows of one series within one `CHAIN_WINDOW_NS`-aligned time
 * window of one file, written contiguously in file order. A reader that keeps every row of a
 * series from the window start on (it may cut a chain's tail, never its head) decodes it exactly.
 */

/** Chains never cross a multiple of this (10 minutes): a reader may start at the window start. */
export const CHAIN_WINDOW_NS = 600_000_000_000n;
/** the largest scale tried: values with more fraction digits are stored as they are */
export const MAX_SCALE = 9;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9] as const;
/** |k| below this keeps every difference and its zigzag (< 2^52) exact in a double */
const MAX_SCALED = 2 ** 50;
const TWO_32 = 4294967296;
/** rough cost of a stored-as-is value, in the units of `chooseScale` (bits) */
const RAW_COST_BITS = 64;

/** The rows of one batch, sorted by (series, time), as the encoder needs them. */
export interface SampleValues {
  n: number;
  /** equal for rows of the same series, different otherwise (a series id) */
  series: Float64Array;
  /** the chain window of each row: floor(timestamp / CHAIN_WINDOW_NS) */
  window: Float64Array;
  value: Float64Array;
}

/** The value columns of format 2 for one batch. */
export interface EncodedValues {
  /** 1: `value` holds the sample as is and the z/scale/start columns are NULL */
  raw: Uint8Array;
  /** bit patterns (low word, high word per row) of `value_z0` and `value_z1` */
  z0: Uint32Array;
  z1: Uint32Array;
  scale: Int8Array;
  start: Uint8Array;
}

/** The smallest e ≤ MAX_SCALE with v = k / 10^e exactly (k an integer, |k| < 2^50), else -1. */
export function minimalScale(v: number): number {
  if (Object.is(v, -0)) return -1;
  for (let e = 0; e <= MAX_SCALE; e++) {
    const k = Math.round(v * POW10[e]!);
    if (Math.abs(k) < MAX_SCALED && k / POW10[e]! === v) return e;
    if (!(Math.abs(k) < MAX_SCALED)) return -1; // NaN, ±Inf, too large: more digits only grow k
  }
  return -1;
}

/**
 * The scale of a chain from the histogram of its rows' minimal scales: each digit costs every
 * encoded row ~3.3 bits, each row that does not fit is stored as is.
 */
export function chooseScale(histogram: Int32Array): number {
  let best = -1;
  let bestCost = Infinity;
  let below = 0;
  let total = 0;
  for (let e = 0; e <= MAX_SCALE; e++) total += histogram[e]!;
  for (let e = 0; e <= MAX_SCALE; e++) {
    below += histogram[e]!;
    if (histogram[e] === 0) continue;
    const cost = below * e * Math.log2(10) + (total - below) * RAW_COST_BITS;
    if (cost < bestCost) {
      bestCost = cost;
      best = e;
    }
  }
  return best;
}

function writeWords(words: Uint32Array, i: number, n: number): void {
  const hi = Math.floor(n / TWO_32);
  words[2 * i] = n - hi * TWO_32;
  words[2 * i + 1] = hi;
}

/** Encodes one batch; a chain never spans two batches, so batches must end at a series' end. */
export function encodeValues(rows: SampleValues): EncodedValues {
  const { n, series, window, value } = rows;
  const out: EncodedValues = {
    raw: new Uint8Array(n),
    z0: new Uint32Array(2 * n),
    z1: new Uint32Array(2 * n),
    scale: new Int8Array(n),
    start: new Uint8Array(n),
  };
  const minScale = new Int8Array(n);
  for (let i = 0; i < n; i++) minScale[i] = minimalScale(value[i]!);
  const histogram = new Int32Array(MAX_SCALE + 1);
  let a = 0;
  while (a < n) {
    let b = a + 1;
    while (b < n && series[b] === series[a] && window[b] === window[a]) b++;
    histogram.fill(0);
    for (let i = a; i < b; i++) if (minScale[i]! >= 0) histogram[minScale[i]!]!++;
    const e = chooseScale(histogram);
    let prev = 0;
    let first = true;
    for (let i = a; i < b; i++) {
      // a value with fewer digits is exact at a larger scale too: k·10 / 10^(e+1) is the same quotient
      const k = e >= 0 && minScale[i]! >= 0 && minScale[i]! <= e ? Math.round(value[i]! * POW10[e]!) : NaN;
      if (!(Math.abs(k) < MAX_SCALED && k / POW10[e]! === value[i])) {
        out.raw[i] = 1;
        continue;
      }
      const d = first ? k : k - prev;
      const zz = d >= 0 ? 2 * d : -2 * d - 1;
      const lo = zz % 256;
      writeWords(out.z0, i, lo);
      writeWords(out.z1, i, (zz - lo) / 256);
      out.scale[i] = e;
      out.start[i] = first ? 1 : 0;
      first = false;
      prev = k;
    }
    a = b;
  }
  return out;
}

/**
 * Decodes rows read back in file order (chains contiguous, each from its start row on) into
 * `value`, in place. `scale` is -1 for a row stored as is. `z0`/`z1` are the bit patterns of the
 * DOUBLE columns (two words per row). Throws if a chain continues across a series change.
 */
export function decodeValues(
  n: number,
  series: Int32Array,
  value: Float64Array,
  z0: Uint32Array,
  z1: Uint32Array,
  scale: Int8Array,
  start: Uint8Array,
): void {
  let k = 0;
  let chainSeries = -1;
  for (let i = 0; i < n; i++) {
    const e = scale[i]!;
    if (e < 0) continue;
    const zz = z0[2 * i]! + (z1[2 * i]! + z1[2 * i + 1]! * TWO_32) * 256;
    const d = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
    if (start[i] === 1) {
      k = d;
      chainSeries = series[i]!;
    } else if (series[i] === chainSeries) k += d;
    else throw new Error(`sample chain of series ${series[i]} has no start row (row ${i} of the read)`);
    value[i] = k / POW10[e]!;
  }
}

/** SQL: 10^scale as an exact DOUBLE (pow of exact powers of ten is exact). */
const sqlPow10 = (scale: string) => `pow(10::DOUBLE, ${scale})`;
/** SQL: the integer whose bit pattern the subnormal DOUBLE `x` is: x · 2^1074, in two exact steps. */
const sqlBits = (x: string) => `(${x} * 2.0^537 * 2.0^537)::BIGINT`;

/**
 * SQL over a relation `src` of format-1 and format-2 rows with `file_index` and `file_row_number`
 * (from read_parquet): `_timestamp, series_id, value, stale` with the value decoded. The prefix sum
 * is a window per chain, so this costs far more than a plain scan: the PromQL store decodes in JS.
 */
export function sqlDecodedSamples(src: string): string {
  const zz = `(${sqlBits('value_z0')} + ${sqlBits('value_z1')} * 256)`;
  const d = `CASE WHEN ${zz} % 2 = 0 THEN ${zz} // 2 ELSE -(${zz} // 2) - 1 END`;
  return (
    `SELECT _timestamp, series_id, CASE WHEN value_scale IS NULL THEN value ELSE ` +
    `(sum(${d}) OVER (PARTITION BY file_index, series_id, _timestamp // ${CHAIN_WINDOW_NS} ` +
    `ORDER BY file_row_number ROWS UNBOUNDED PRECEDING))::DOUBLE / ${sqlPow10('value_scale')} END AS value, stale ` +
    `FROM (${src})`
  );
}
