/**
 * InfluxDB line protocol → series + samples, named as VictoriaMetrics names them: metric
 * `<measurement>_<field>` (just `<measurement>` for a field called `value`), tags as labels, the
 * `db` (v1) or `bucket` (v2) parameter as label `db` unless a tag already is `db`. Names are made
 * Prometheus-compatible (metric-names.ts). Integer `i`, unsigned `u` and float fields are values;
 * booleans are 1/0; a string field holding a number is that number (as VictoriaMetrics does), any
 * other string field is skipped (VictoriaMetrics stores 0 for it). Timestamps are floored to
 * milliseconds; a line without one gets the receive time.
 * Syntax: https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 * Escapes: `\ ` `\,` `\=` `\\` in measurement, tag keys, tag values and field keys; `\"` and `\\`
 * inside string field values. Pure: no HTTP, no storage.
 */
import { MoleError, badRequest } from '../../lib/errors.ts';
import type { Labels } from '../../promql/labels.ts';
import { seriesLabels, type SeriesInput } from '../../write/series-registry.ts';
import { SeriesSamplesBuilder, checkTimestamp, type SeriesSamples } from '../metric-samples.ts';
import { sanitizeLabelName, sanitizeMetricName } from '../metric-names.ts';
import { decodeUtf8Lines, forEachLine } from '../text-lines.ts';

/** The longest line accepted (VictoriaMetrics' `-influx.maxLineSize` default). */
export const INFLUX_MAX_LINE_CHARS = 256 * 1024;

export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's' | 'm' | 'h';

/** `precision` values of the v1 (`n`, `u`, `ms`, `s`, `m`, `h`) and v2 (`ns`, `us`, `ms`, `s`) write APIs. */
export function influxPrecision(value: string | null): InfluxPrecision {
  switch (value ?? '') {
    case '':
    case 'n':
    case 'ns':
      return 'ns';
    case 'u':
    case 'us':
    case 'µ':
      return 'us';
    case 'ms':
      return 'ms';
    case 's':
      return 's';
    case 'm':
      return 'm';
    case 'h':
      return 'h';
    default:
      throw new MoleError(`precision "${(value ?? '').slice(0, 20)}" is not one of ns, us (u), ms, s, m, h`, {
        code: 'MS_ERR_BAD_PRECISION',
        status: 400,
        reason: 'bad_request',
      });
  }
}

export interface InfluxParams {
  precision: InfluxPrecision;
  /** the v1 `db` or v2 `bucket` parameter ('' = none) */
  db: string;
}

const SPACE = 32;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;
const TAB = 9;

const lineError = (lineNo: number, message: string) =>
  badRequest(`line ${lineNo}: ${message}`, 'MS_ERR_BAD_LINE');

/** Index of the first unescaped char among `a`/`b`/`c` at or after `i`, or the line's length. */
function scan(line: string, i: number, a: number, b: number, c: number): number {
  for (; i < line.length; i++) {
    const ch = line.charCodeAt(i);
    if (ch === BACKSLASH) i++;
    else if (ch === a || ch === b || ch === c) return i;
  }
  return line.length;
}

/** `\ ` `\,` `\=` `\\` → the character; a backslash before anything else stays. */
function unescapeName(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\([ ,=\\])/g, '$1');
}

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+$/;
const UINT_RE = /^\d+$/;
const INT64_MAX = 9223372036854775807n;
const UINT64_MAX = 18446744073709551615n;

/** A field value as a number; null for a string field that is not a number (skipped). */
function fieldValue(raw: string, lineNo: number, key: string): number | null {
  const last = raw.charCodeAt(raw.length - 1);
  if (raw.charCodeAt(0) === QUOTE) {
    const text = raw
      .slice(1, -1)
      .replace(/\\(["\\])/g, '$1')
      .trim();
    return FLOAT_RE.test(text) ? Number(text) : null;
  }
  if (last === 105 /* i */ || last === 117 /* u */) {
    const digits = raw.slice(0, -1);
    if (!(last === 105 ? INT_RE : UINT_RE).test(digits))
      throw lineError(
        lineNo,
        `field "${key}": ${JSON.stringify(raw.slice(0, 40))} is not an ${last === 105 ? 'integer' : 'unsigned integer'}`,
      );
    if (digits.length > 15) {
      const big = BigInt(digits);
      if (last === 105 ? big > INT64_MAX || big < -INT64_MAX - 1n : big > UINT64_MAX)
        throw lineError(lineNo, `field "${key}": ${digits.slice(0, 40)} is out of range`);
    }
    return Number(digits);
  }
  switch (raw) {
    case 't':
    case 'T':
    case 'true':
    case 'True':
    case 'TRUE':
      return 1;
    case 'f':
    case 'F':
    case 'false':
    case 'False':
    case 'FALSE':
      return 0;
  }
  if (!FLOAT_RE.test(raw))
    throw lineError(
      lineNo,
      `field "${key}": ${JSON.stringify(raw.slice(0, 40))} is not a number, boolean or "string"`,
    );
  const v = Number(raw);
  if (!Number.isFinite(v)) throw lineError(lineNo, `field "${key}": ${raw.slice(0, 40)} is out of range`);
  return v;
}

/** Exact floor of an integer timestamp in `precision` to milliseconds. */
function timestampMs(raw: string, precision: InfluxPrecision, lineNo: number): number {
  if (!INT_RE.test(raw))
    throw lineError(lineNo, `timestamp ${JSON.stringify(raw.slice(0, 40))} is not an integer`);
  if (raw.length > 20) throw lineError(lineNo, `timestamp ${raw.slice(0, 40)} is out of range`);
  switch (precision) {
    case 'ns':
      return Number(BigInt(raw) / 1_000_000n - (raw.startsWith('-') && !/0{6}$/.test(raw) ? 1n : 0n));
    case 'us':
      return Math.floor(Number(raw) / 1000);
    case 'ms':
      return Number(raw);
    case 's':
      return Number(raw) * 1000;
    case 'm':
      return Number(raw) * 60_000;
    case 'h':
      return Number(raw) * 3_600_000;
  }
}

interface LineParts {
  /** the measurement and tag set as sent: the cache key of its series */
  head: string;
  labels: SeriesInput[];
  measurement: string;
  fields: { rawKey: string; key: string; value: number | null }[];
  timestamp: string;
}

function parseLine(line: string, lineNo: number): LineParts | null {
  let i = 0;
  while (i < line.length && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
  if (i === line.length || line.charCodeAt(i) === 35 /* # */) return null;
  const headStart = i;
  let end = scan(line, i, COMMA, SPACE, -1);
  const measurement = unescapeName(line.slice(i, end));
  if (measurement === '') throw lineError(lineNo, 'missing measurement');
  const labels: SeriesInput[] = [];
  while (end < line.length && line.charCodeAt(end) === COMMA) {
    i = end + 1;
    const eq = scan(line, i, EQUALS, COMMA, SPACE);
    if (eq >= line.length || line.charCodeAt(eq) !== EQUALS)
      throw lineError(lineNo, `tag ${JSON.stringify(line.slice(i, eq).slice(0, 40))} has no "=value"`);
    const key = unescapeName(line.slice(i, eq));
    end = scan(line, eq + 1, COMMA, SPACE, -1);
    const value = unescapeName(line.slice(eq + 1, end));
    if (key === '') throw lineError(lineNo, 'missing tag key');
    if (value === '') throw lineError(lineNo, `tag "${key.slice(0, 40)}" has an empty value`);
    labels.push({ name: key, value });
  }
  const head = line.slice(headStart, end);
  i = end;
  while (i < line.length && line.charCodeAt(i) === SPACE) i++;
  if (i >= line.length) throw lineError(lineNo, 'missing fields');
  const fields: LineParts['fields'] = [];
  for (;;) {
    const eq = scan(line, i, EQUALS, COMMA, SPACE);
    if (eq >= line.length || line.charCodeAt(eq) !== EQUALS)
      throw lineError(lineNo, `field ${JSON.stringify(line.slice(i, eq).slice(0, 40))} has no "=value"`);
    const rawKey = line.slice(i, eq);
    const key = unescapeName(rawKey);
    if (key === '') throw lineError(lineNo, 'missing field key');
    let v = eq + 1;
    if (line.charCodeAt(v) === QUOTE) {
      v++;
      for (; v < line.length; v++) {
        const ch = line.charCodeAt(v);
        if (ch === BACKSLASH) v++;
        else if (ch === QUOTE) break;
      }
      if (v >= line.length)
        throw lineError(
          lineNo,
          `field "${key.slice(0, 40)}": unterminated string (a newline inside a string value is not allowed)`,
        );
      v++;
    } else {
      v = scan(line, v, COMMA, SPACE, -1);
    }
    const raw = line.slice(eq + 1, v);
    if (raw === '') throw lineError(lineNo, `field "${key.slice(0, 40)}" has no value`);
    fields.push({ rawKey, key, value: fieldValue(raw, lineNo, key) });
    if (v >= line.length || line.charCodeAt(v) === SPACE) {
      i = v;
      break;
    }
    if (line.charCodeAt(v) !== COMMA)
      throw lineError(lineNo, `unexpected character after field "${key.slice(0, 40)}"`);
    i = v + 1;
  }
  while (i < line.length && line.charCodeAt(i) === SPACE) i++;
  let tsEnd = i;
  while (tsEnd < line.length && line.charCodeAt(tsEnd) !== SPACE) tsEnd++;
  const timestamp = line.slice(i, tsEnd);
  for (let k = tsEnd; k < line.length; k++)
    if (line.charCodeAt(k) !== SPACE && line.charCodeAt(k) !== TAB)
      throw lineError(
        lineNo,
        `unexpected text after the timestamp: ${JSON.stringify(line.slice(k, k + 40))}`,
      );
  return { head, labels, measurement, fields, timestamp };
}

/** Sorted, Prometheus-compatible labels of one field of a line. */
function fieldSeries(p: LineParts, key: string, db: string, lineNo: number): Labels {
  const metric = sanitizeMetricName(key === 'value' ? p.measurement : `${p.measurement}_${key}`);
  const input: SeriesInput[] = [{ name: '__name__', value: metric }];
  let hasDb = false;
  for (const l of p.labels) {
    const name = sanitizeLabelName(l.name);
    if (name === '__name__') throw lineError(lineNo, 'tag key "__name__" is reserved');
    if (name === 'db') hasDb = true;
    input.push({ name, value: l.value });
  }
  if (!hasDb && db !== '') input.push({ name: 'db', value: db });
  try {
    return seriesLabels(input);
  } catch (e) {
    throw lineError(
      lineNo,
      `${(e as Error).message} (tag keys are made Prometheus-compatible: characters outside [a-zA-Z0-9_] become "_")`,
    );
  }
}

/** The whole body, or a 400 naming the first bad line: nothing of a bad body is stored. */
export function parseInfluxLines(
  body: Uint8Array,
  params: InfluxParams,
  receivedAtMs: number,
): SeriesSamples {
  const b = new SeriesSamplesBuilder();
  const text = decodeUtf8Lines(body);
  const defaultTs = Math.floor(receivedAtMs);
  forEachLine(text, INFLUX_MAX_LINE_CHARS, (line, lineNo) => {
    const p = parseLine(line, lineNo);
    if (p === null) return;
    const t = p.timestamp === '' ? defaultTs : timestampMs(p.timestamp, params.precision, lineNo);
    checkTimestamp(t, receivedAtMs, `line ${lineNo}`);
    for (const f of p.fields) {
      if (f.value === null) continue;
      const rawKey = `${p.head}\u0000${f.rawKey}`;
      let series = b.indexOfRaw(rawKey);
      if (series < 0) series = b.addSeries(rawKey, fieldSeries(p, f.key, params.db, lineNo));
      b.push(series, t, f.value);
    }
  });
  return b.out;
}
