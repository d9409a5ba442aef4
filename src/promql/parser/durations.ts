/**
 * Prometheus durations (`model.ParseDuration` / `model.Duration.String`): units y, w, d, h, m, s,
 * ms, each at most once and in that order; `1y` is 365 days. All values are milliseconds.
 */
import { MoleError } from '../../lib/errors.ts';

const UNITS: readonly (readonly [string, number])[] = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Parses '5m', '1h30m', '1d', '1w', '1y', '100ms' (and '0') into milliseconds; throws on bad input. */
export function parseDurationMs(s: string): number {
  const bad = (msg: string) =>
    new MoleError(msg, { code: 'MS_ERR_BAD_DURATION', status: 400, reason: 'bad_request' });
  if (s === '') throw bad('empty duration string');
  if (s === '0') return 0;
  const m = DURATION_RE.exec(s);
  if (!m) throw bad(`not a valid duration string: ${JSON.stringify(s)}`);
  let total = 0;
  UNITS.forEach(([, mult], i) => {
    const g = m[i + 1];
    if (g !== undefined) total += Number(g) * mult;
  });
  if (!Number.isSafeInteger(total)) throw bad(`duration out of range: ${JSON.stringify(s)}`);
  return total;
}

/** Prometheus' text form of a duration: `5m`, `1h30m`, `90d`; years and weeks only when exact. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0) return `-${formatDurationMs(-ms)}`;
  let rest = ms;
  let out = '';
  for (const [unit, mult] of UNITS) {
    const exact = unit === 'y' || unit === 'w';
    if (exact && rest % mult !== 0) continue;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return out;
}
