/**
 * One JSON document → one log row, shared by Elasticsearch `_bulk`, `/_json` and `/_multi`:
 * - time: the first of `_timestamp`, `@timestamp`, `timestamp` (RFC 3339 / ISO 8601 text, or an
 *   epoch number whose unit is told by its size: seconds, ms, µs or ns) → `_timestamp`; that
 *   field is not kept as an attribute. None: the receive time.
 * - line: the first of `message`, `log`, `msg` that is a string → `body` (Elasticsearch's ECS,
 *   Fluent Bit / Docker and pino/bunyan name it so); the others stay attributes.
 * - every other top-level field → `attr.<key>` with its JSON type (see log-rows.ts).
 * A document is checked (`checkDocument`) before any row is written, so a bad one can be refused
 * on its own (`_bulk` item error) or with its whole request.
 */
import { badRequest, type MoleError } from '../../lib/errors.ts';
import type { LogRows } from '../log-rows.ts';

const TIME_KEYS = ['_timestamp', '@timestamp', 'timestamp'] as const;
const BODY_KEYS = ['message', 'log', 'msg'] as const;

export type Doc = Readonly<Record<string, unknown>>;

export interface CheckedDoc {
  doc: Doc;
  timeNs: bigint | null;
  timeKey: string | undefined;
  bodyKey: string | undefined;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9})\d*)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;
const INTEGER = /^-?\d{1,20}$/;
const DECIMAL = /^-?\d{1,15}\.\d{1,9}$/;

/** Epoch integer → ns, the unit guessed from the magnitude (as OpenObserve and Vector do). */
function epochNs(n: bigint): bigint {
  const a = n < 0n ? -n : n;
  if (a < 100_000_000_000n) return n * 1_000_000_000n; // seconds (until year 5138)
  if (a < 100_000_000_000_000n) return n * 1_000_000n; // ms
  if (a < 100_000_000_000_000_000n) return n * 1_000n; // µs
  return n; // ns
}

/** Decimal seconds ("1700000000.123") → ns, exactly. */
export function decimalSecondsNs(s: string): bigint {
  const neg = s.startsWith('-');
  const [int, frac = ''] = (neg ? s.slice(1) : s).split('.');
  const ns = BigInt(int!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
  return neg ? -ns : ns;
}

/** Decimal seconds, or decimal ms when the integer part is that large. */
function decimalEpochNs(s: string): bigint {
  const ns = decimalSecondsNs(s);
  return ns < 100_000_000_000n * 1_000_000_000n && ns > -100_000_000_000n * 1_000_000_000n ? ns : ns / 1000n;
}

/** A document time value → ns since the epoch, or null when it is not a time. */
export function parseDocTimeNs(v: unknown): bigint | null {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    if (Number.isSafeInteger(v)) return epochNs(BigInt(v));
    // fractional seconds or ms: through the shortest decimal text, so 0.25 stays exact
    const text = String(v);
    if (DECIMAL.test(text)) return decimalEpochNs(text);
    return Math.abs(v) < 1e11 ? BigInt(Math.round(v * 1e9)) : null;
  }
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (INTEGER.test(s)) return epochNs(BigInt(s));
  if (DECIMAL.test(s)) return decimalEpochNs(s);
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone = 'Z'] = m;
  const z =
    zone.toUpperCase() === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${z}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
}

/** Checks one document; throws a 400 naming the problem (prefixed with `where`). */
export function checkDocument(v: unknown, where: string): CheckedDoc {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badRequest(
      `${where}: expected a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`,
      'MS_ERR_BAD_JSON',
      'bad_json',
    );
  }
  const doc = v as Doc;
  let timeKey: string | undefined;
  let timeNs: bigint | null = null;
  for (const k of TIME_KEYS) {
    const t = doc[k];
    if (t === undefined || t === null) continue;
    timeNs = parseDocTimeNs(t);
    if (timeNs === null) throw badTime(where, k, t);
    timeKey = k;
    break;
  }
  let bodyKey: string | undefined;
  for (const k of BODY_KEYS) {
    if (typeof doc[k] === 'string') {
      bodyKey = k;
      break;
    }
  }
  return { doc, timeNs, timeKey, bodyKey };
}

function badTime(where: string, key: string, v: unknown): MoleError {
  const text = JSON.stringify(v) ?? String(v);
  return badRequest(
    `${where}: field "${key}" ${text.length > 40 ? `${text.slice(0, 40)}…` : text} is not a time; send RFC 3339 text (2024-05-01T12:00:00.123Z) or epoch seconds, ms, µs or ns`,
    'MS_ERR_BAD_TIMESTAMP',
  );
}

/** Writes a checked document as one row. */
export function addDocument(rows: LogRows, d: CheckedDoc): void {
  rows.beginRecord();
  rows.attrFields(d.doc, d.timeKey, d.bodyKey);
  rows.emit(d.timeNs, d.bodyKey === undefined ? null : (d.doc[d.bodyKey] as string));
}
