/**
 * Splunk HEC → log rows (https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector).
 * Pure: bytes and params in, columns out.
 *
 * Event endpoint: the body is JSON event objects one after another (not an array; whitespace or
 * nothing between them). Per event:
 * - `event` (required, code 12; a blank string is code 13): a string → `body`; an object →
 *   `body` is its JSON text AND its fields become `attr.<key>` (flattened with dots, as the
 *   `_bulk` documents are), so they can be filtered without parsing; other JSON values → `body`
 *   as JSON text.
 * - `time`: epoch seconds with an optional fraction, a number or a string → `_timestamp`;
 *   absent: the receive time.
 * - `host`, `source`, `sourcetype` → `resource.host`, `resource.source`, `resource.sourcetype`.
 * - `fields` (an object) → `attr.<key>`; a key also in an object `event` takes the `fields` value.
 * - `index` → the stream (chosen by the handler; the decoder ignores it).
 * Raw endpoint: one event per non-blank line (`\r\n` accepted), the line → `body`; `host`,
 * `source`, `sourcetype` and `time` come from the query string (payload params).
 * Any bad event refuses the whole request with its HEC code and `invalid-event-number`.
 */
import { HecError } from '../../server/http-errors.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { decimalSecondsNs } from '../json-docs/document.ts';
import { LogRows } from '../log-rows.ts';
import { utf8Text } from '../utf8.ts';

export const HEC_NO_DATA = 5;
export const HEC_INVALID_FORMAT = 6;
export const HEC_EVENT_REQUIRED = 12;
export const HEC_EVENT_BLANK = 13;

type Obj = Readonly<Record<string, unknown>>;

export interface HecEvent {
  /** byte range of the event's JSON text in the body */
  start: number;
  end: number;
  index: string | undefined;
  ev: Obj;
  timeNs: bigint | null;
}

const SECONDS = /^-?\d{1,12}(?:\.\d{1,9})?$/;

/** HEC `time`: epoch seconds, optionally fractional, as a number or a string. */
export function hecTimeNs(v: unknown): bigint | null | undefined {
  if (v === undefined || v === null || v === '') return null;
  const s =
    typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : typeof v === 'string' ? v.trim() : '';
  if (SECONDS.test(s)) return decimalSecondsNs(s);
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 1e12) return BigInt(Math.round(v * 1e9));
  return undefined;
}

/** Byte ranges of the top-level JSON objects in `buf` (strings and escapes respected). */
export function splitObjects(buf: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const c = buf[i]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i++;
      continue;
    }
    if (c !== 0x7b) {
      throw new HecError(
        `expected a JSON event object at byte ${i}; the body is event objects one after another, not an array`,
        HEC_INVALID_FORMAT,
        out.length,
      );
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const b = buf[i]!;
      if (inString) {
        if (b === 0x5c) i++;
        else if (b === 0x22) inString = false;
      } else if (b === 0x22) inString = true;
      else if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) {
        depth--;
        if (depth === 0) break;
      }
    }
    if (i >= n)
      throw new HecError(
        `event ${out.length} is truncated (unbalanced braces)`,
        HEC_INVALID_FORMAT,
        out.length,
      );
    i++;
    out.push([start, i]);
  }
  return out;
}

/** Parses and checks every event of an event-endpoint body. */
export function parseHecEvents(body: Uint8Array): HecEvent[] {
  const text = utf8Text(body);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const ranges = splitObjects(buf);
  if (ranges.length === 0) throw new HecError('no data: the body has no event', HEC_NO_DATA);
  // byte offsets → string offsets only when the text is not pure ASCII
  const ascii = text.length === buf.length;
  return ranges.map(([start, end], i) => {
    const json = ascii ? text.slice(start, end) : buf.toString('utf8', start, end);
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch (e) {
      throw new HecError(`event ${i}: malformed JSON: ${(e as Error).message}`, HEC_INVALID_FORMAT, i);
    }
    const ev = v as Obj;
    if (!('event' in ev) || ev.event === undefined) {
      throw new HecError(`event ${i}: the "event" field is required`, HEC_EVENT_REQUIRED, i);
    }
    if (ev.event === null || ev.event === '') {
      throw new HecError(`event ${i}: the "event" field cannot be blank`, HEC_EVENT_BLANK, i);
    }
    const timeNs = hecTimeNs(ev.time);
    if (timeNs === undefined) {
      throw new HecError(
        `event ${i}: "time" must be epoch seconds (e.g. 1714564800.123)`,
        HEC_INVALID_FORMAT,
        i,
      );
    }
    for (const k of ['host', 'source', 'sourcetype', 'index'] as const) {
      if (ev[k] !== undefined && ev[k] !== null && typeof ev[k] !== 'string') {
        throw new HecError(`event ${i}: "${k}" must be a string`, HEC_INVALID_FORMAT, i);
      }
    }
    if (
      ev.fields !== undefined &&
      (typeof ev.fields !== 'object' || ev.fields === null || Array.isArray(ev.fields))
    ) {
      throw new HecError(`event ${i}: "fields" must be an object`, HEC_INVALID_FORMAT, i);
    }
    return { start, end, index: typeof ev.index === 'string' ? ev.index : undefined, ev, timeNs };
  });
}

function labels(rows: LogRows, src: Obj): void {
  for (const k of ['host', 'source', 'sourcetype'] as const) {
    const v = src[k];
    if (typeof v === 'string' && v !== '') rows.label(k, v);
  }
}

/** Checked events → rows. */
export function hecEventRows(events: readonly HecEvent[], nowNs: bigint): ColumnBatch {
  const rows = new LogRows(nowNs);
  for (const { ev, timeNs } of events) {
    rows.beginLabels();
    labels(rows, ev);
    rows.beginRecord();
    const event = ev.event;
    let body: string;
    if (typeof event === 'string') body = event;
    else {
      body = JSON.stringify(event);
      if (typeof event === 'object' && event !== null && !Array.isArray(event)) rows.attrFields(event as Obj);
    }
    const fields = ev.fields as Obj | undefined;
    if (fields) rows.attrFields(fields);
    rows.emit(timeNs, body);
    rows.endLabels();
  }
  return rows.finish();
}

export function decodeHecEvents(p: IngestPayload): ColumnBatch {
  return hecEventRows(parseHecEvents(p.body), p.nowNs);
}

/** Raw endpoint: one event per non-blank line; host/source/sourcetype/time from `p.params`. */
export function decodeHecRaw(p: IngestPayload): ColumnBatch {
  const text = utf8Text(p.body);
  const params = p.params ?? {};
  const timeNs = hecTimeNs(params.time);
  if (timeNs === undefined)
    throw new HecError('query parameter "time" must be epoch seconds', HEC_INVALID_FORMAT);
  const rows = new LogRows(p.nowNs);
  rows.beginLabels();
  labels(rows, params);
  let events = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (line.trim() === '') continue;
    rows.beginRecord();
    rows.emit(timeNs, line);
    events++;
  }
  rows.endLabels();
  if (events === 0) throw new HecError('no data: the body has no event', HEC_NO_DATA);
  return rows.finish();
}
