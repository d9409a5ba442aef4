/**
 * Loki push JSON → log rows (https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs):
 * `{"streams":[{"stream":{labels},"values":[["<unix ns>","<line>",{structured metadata}?]]}]}`,
 * and the older `{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":"<RFC 3339>","line":"…"}]}]}`.
 * Labels → `resource.<name>` strings, structured metadata → `attr.<name>` strings, line → `body`,
 * timestamp → `_timestamp` (ns). Pure; any problem refuses the whole request (400).
 */
import { badRequest } from '../../lib/errors.ts';
import { parseTimeNs } from '../../lib/time.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { parseJson } from '../json-docs/parse.ts';
import { LogRows } from '../log-rows.ts';
import { utf8Text } from '../utf8.ts';
import { checkLabelName, parseLabelSelector } from './labels.ts';

const bad = (message: string) => badRequest(message, 'MS_ERR_BAD_JSON', 'bad_json');
const NS_DIGITS = /^\d{1,19}$/;
const I64_MAX = (1n << 63n) - 1n;

const isObject = (v: unknown): v is Readonly<Record<string, unknown>> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function nsOf(v: unknown, where: string): bigint {
  if (typeof v === 'string' && NS_DIGITS.test(v)) {
    const n = BigInt(v);
    if (n <= I64_MAX) return n;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw bad(
    `${where}: expected the timestamp as a string of Unix epoch nanoseconds, got ${JSON.stringify(v)?.slice(0, 40)}`,
  );
}

function line(v: unknown, where: string): string {
  if (typeof v !== 'string') throw bad(`${where}: expected the log line as a string`);
  return v;
}

export function decodeLokiJson(p: IngestPayload): ColumnBatch {
  const root = parseJson(utf8Text(p.body), 'request body');
  if (!isObject(root) || !Array.isArray(root.streams)) {
    throw bad('request body must be {"streams":[{"stream":{...},"values":[["<unix ns>","<line>"]]}]}');
  }
  const rows = new LogRows(p.nowNs);
  root.streams.forEach((s: unknown, si) => {
    const where = `streams[${si}]`;
    if (!isObject(s)) throw bad(`${where}: expected an object`);
    rows.beginLabels();
    if (s.stream !== undefined) {
      if (!isObject(s.stream)) throw bad(`${where}.stream: expected an object of label names to strings`);
      let count = 0;
      for (const name in s.stream) {
        const value = s.stream[name];
        checkLabelName(name, `${where}.stream`);
        if (typeof value !== 'string') throw bad(`${where}.stream.${name}: label values must be strings`);
        rows.label(name, value);
        count++;
      }
      if (count === 0)
        throw badRequest(`${where}: at least one label pair is required per stream`, 'MS_ERR_BAD_LABELS');
    } else if (typeof s.labels === 'string') {
      for (const [name, value] of parseLabelSelector(s.labels, `${where}.labels`)) rows.label(name, value);
    } else {
      throw bad(`${where}: "stream" (an object of labels) is missing`);
    }
    if (Array.isArray(s.values)) {
      s.values.forEach((e: unknown, ei) => {
        const w = `${where}.values[${ei}]`;
        if (!Array.isArray(e) || e.length < 2 || e.length > 3) {
          throw bad(
            `${w}: expected ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {structured metadata}]`,
          );
        }
        const ts = nsOf(e[0], w);
        const text = line(e[1], w);
        rows.beginRecord();
        if (e.length === 3 && e[2] !== null) {
          const meta: unknown = e[2];
          if (!isObject(meta)) throw bad(`${w}[2]: structured metadata must be an object of strings`);
          for (const k in meta) {
            const v = meta[k];
            if (typeof v !== 'string') throw bad(`${w}[2].${k}: structured metadata values must be strings`);
            if (k !== '') rows.attrString(k, v);
          }
        }
        rows.emit(ts, text);
      });
    } else if (Array.isArray(s.entries)) {
      s.entries.forEach((e: unknown, ei) => {
        const w = `${where}.entries[${ei}]`;
        if (!isObject(e)) throw bad(`${w}: expected {"ts": "<RFC 3339>", "line": "…"}`);
        const ts = parseTimeNs(e.ts ?? e.timestamp);
        if (ts === null) throw bad(`${w}.ts: expected an RFC 3339 time`);
        rows.beginRecord();
        rows.emit(ts, line(e.line, w));
      });
    } else if (s.values !== undefined) {
      throw bad(`${where}.values: expected an array`);
    }
    rows.endLabels();
  });
  return rows.finish();
}
