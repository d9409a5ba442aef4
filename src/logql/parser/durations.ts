/**
 * The two duration syntaxes LogQL accepts, with Loki's error texts:
 * - Prometheus durations (`model.ParseDuration`: `1h30m`, `2d`, `1w`, `1y`; integers, units in
 *   descending order) for ranges `[5m]`, `offset` and label filters;
 * - Go durations (`time.ParseDuration`: `1.5h`, `250ms`, `10us`, `-1s`) as the fallback for label
 *   filters and offsets, as Loki's lexer tries them second.
 */

const PROM_UNITS: Record<string, { ms: number; rank: number }> = {
  y: { ms: 365 * 24 * 3600 * 1000, rank: 1 },
  w: { ms: 7 * 24 * 3600 * 1000, rank: 2 },
  d: { ms: 24 * 3600 * 1000, rank: 3 },
  h: { ms: 3600 * 1000, rank: 4 },
  m: { ms: 60 * 1000, rank: 5 },
  s: { ms: 1000, rank: 6 },
  ms: { ms: 1, rank: 7 },
};

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Prometheus duration → milliseconds; throws an Error with Prometheus' message. */
export function parsePromDurationMs(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new Error('empty duration string');
  const invalid = () => new Error(`not a valid duration string: ${JSON.stringify(s)}`);
  let rest = s;
  let total = 0;
  let lastRank = 0;
  while (rest !== '') {
    if (!isDigit(rest[0])) throw invalid();
    let i = 0;
    while (isDigit(rest[i])) i++;
    const v = Number(rest.slice(0, i));
    rest = rest.slice(i);
    let j = 0;
    while (j < rest.length && !isDigit(rest[j])) j++;
    if (j === 0) throw invalid();
    const unitName = rest.slice(0, j);
    rest = rest.slice(j);
    const unit = PROM_UNITS[unitName];
    if (unit === undefined)
      throw new Error(`unknown unit ${JSON.stringify(unitName)} in duration ${JSON.stringify(s)}`);
    if (unit.rank <= lastRank) throw invalid();
    lastRank = unit.rank;
    total += v * unit.ms;
    if (total > 9_223_372_036_854) throw new Error('duration out of range');
  }
  return total;
}

/** Prometheus' text of a duration (`model.Duration.String`): `1h30m`, `1w1d`, `0s`. */
export function formatPromDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0) return `-${formatPromDurationMs(-ms)}`;
  let rest = ms;
  let out = '';
  for (const [name, unit] of Object.entries(PROM_UNITS)) {
    const v = Math.floor(rest / unit.ms);
    if (v > 0) {
      out += `${v}${name}`;
      rest -= v * unit.ms;
    }
  }
  return out;
}

const GO_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go `time.ParseDuration` → nanoseconds, or null when the text is not a Go duration. */
export function parseGoDurationNs(s: string): number | null {
  let rest = s;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = m?.[1] ?? '';
    const frac = m?.[2];
    if (whole === '' && (frac === undefined || frac === '')) return null;
    rest = rest.slice(m?.[0].length ?? 0);
    const u = /^[^0-9.]+/.exec(rest);
    if (u === null) return null; // missing unit
    const mult = GO_UNITS[u[0]];
    if (mult === undefined) return null;
    rest = rest.slice(u[0].length);
    total += Number(`${whole === '' ? '0' : whole}.${frac ?? ''}`.replace(/\.$/, '')) * mult;
  }
  if (total > 9.223372036854776e18) return null;
  return sign * Math.round(total);
}

/** Go's `time.Duration.String()`: `1h30m0s`, `250ms`, `1.5s`, `0s`. */
export function formatGoDurationNs(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    // sub-second: the largest unit that keeps an integer part
    const [unit, div] = u < 1e3 ? ['ns', 1] : u < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    out = `${trimFloat(u / div)}${unit}`;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    const sec = `${trimFloat(u / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}

const trimFloat = (v: number): string => String(Number(v.toFixed(9)));
