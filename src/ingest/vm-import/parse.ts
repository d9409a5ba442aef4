/**
 * VictoriaMetrics JSON lines (`/api/v1/import`, what `/api/v1/export` produces): one series per line,
 *   {"metric":{"__name__":"up","job":"x"},"values":[1,0.5,null,"Infinity"],"timestamps":[1700000000000,...]}
 * Values are JSON numbers; `null` is NaN and the strings "Infinity", "-Infinity", "NaN" (or any
 * number as a string) are accepted as VictoriaMetrics writes and reads them. Timestamps are integer
 * milliseconds. Label names are kept as sent (any non-empty UTF-8), so an export imports back
 * unchanged. https://docs.victoriametrics.com/#how-to-import-time-series-data
 * Pure: no HTTP, no storage; every error names its line.
 */
import { badRequest } from '../../lib/errors.ts';
import { seriesLabels, type SeriesInput } from '../../write/series-registry.ts';
import { SeriesSamplesBuilder, checkTimestamp, type SeriesSamples } from '../metric-samples.ts';
import { parsePromFloat } from '../prom-text/parse.ts';
import { decodeUtf8Lines, forEachLine } from '../text-lines.ts';

/** The longest line accepted (one series with all its samples; VictoriaMetrics' `-import.maxLineLen` is 10 MB). */
export const VM_IMPORT_MAX_LINE_CHARS = 10 * 1024 * 1024;

const lineError = (lineNo: number, message: string) =>
  badRequest(`line ${lineNo}: ${message}`, 'MS_ERR_BAD_LINE');

function valueOf(v: unknown, lineNo: number, k: number): number {
  if (typeof v === 'number') return v;
  if (v === null) return NaN;
  if (typeof v === 'string') {
    const n = parsePromFloat(v);
    if (n !== null) return n;
  }
  throw lineError(lineNo, `values[${k}] is ${JSON.stringify(v)?.slice(0, 40)}, not a number`);
}

/**
 * VictoriaMetrics before 1.80 exports infinities as bare `+Inf`/`-Inf` (not JSON): outside strings,
 * those tokens and `NaN`/`Inf` are quoted so the line parses. null when there is none.
 */
function quoteBareSpecials(line: string): string | null {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    const m = /^(?:[+-]?Inf|NaN)(?=\s*[,\]])/.exec(line.slice(i, i + 8));
    if (m) {
      out += `${line.slice(last, i)}"${m[0]}"`;
      i += m[0].length - 1;
      last = i + 1;
    }
  }
  return last === 0 ? null : out + line.slice(last);
}

export function parseVmJsonLines(
  body: Uint8Array,
  extraLabels: readonly SeriesInput[],
  receivedAtMs: number,
): SeriesSamples {
  const b = new SeriesSamplesBuilder();
  const extraNames = new Set(extraLabels.map((l) => l.name));
  forEachLine(decodeUtf8Lines(body), VM_IMPORT_MAX_LINE_CHARS, (line, lineNo) => {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      const quoted = quoteBareSpecials(line);
      if (quoted === null) throw lineError(lineNo, `not JSON: ${(e as Error).message}`);
      try {
        obj = JSON.parse(quoted);
      } catch {
        throw lineError(lineNo, `not JSON: ${(e as Error).message}`);
      }
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
      throw lineError(lineNo, 'expected a JSON object');
    const { metric, values, timestamps } = obj as Record<string, unknown>;
    if (metric === null || typeof metric !== 'object' || Array.isArray(metric))
      throw lineError(lineNo, '"metric" must be an object of label names to string values');
    if (!Array.isArray(values)) throw lineError(lineNo, '"values" must be an array');
    if (!Array.isArray(timestamps)) throw lineError(lineNo, '"timestamps" must be an array');
    if (values.length !== timestamps.length)
      throw lineError(
        lineNo,
        `"values" has ${values.length} entries but "timestamps" has ${timestamps.length}`,
      );
    const input: SeriesInput[] = [];
    for (const [name, value] of Object.entries(metric as Record<string, unknown>)) {
      if (typeof value !== 'string')
        throw lineError(lineNo, `label ${JSON.stringify(name.slice(0, 40))} must be a string`);
      if (!extraNames.has(name)) input.push({ name, value });
    }
    input.push(...extraLabels);
    let series: number;
    try {
      series = b.addSeries('', seriesLabels(input));
    } catch (e) {
      throw lineError(lineNo, (e as Error).message);
    }
    for (let k = 0; k < values.length; k++) {
      const t: unknown = timestamps[k];
      if (typeof t !== 'number' || !Number.isInteger(t))
        throw lineError(
          lineNo,
          `timestamps[${k}] is ${JSON.stringify(t)?.slice(0, 40)}, not integer milliseconds`,
        );
      checkTimestamp(t, receivedAtMs, `line ${lineNo}`);
      b.push(series, t, valueOf(values[k], lineNo, k));
    }
  });
  return b.out;
}

/** One exported series as a JSON line: NaN as null, infinities as "Infinity"/"-Infinity" (VictoriaMetrics' export). */
export function formatVmJsonLine(
  labels: Record<string, string>,
  values: ArrayLike<number>,
  timestamps: ArrayLike<number>,
): string {
  const vs: string[] = new Array<string>(values.length);
  const ts: string[] = new Array<string>(values.length);
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    vs[k] = Number.isNaN(v)
      ? 'null'
      : v === Infinity
        ? '"Infinity"'
        : v === -Infinity
          ? '"-Infinity"'
          : String(v);
    ts[k] = String(timestamps[k]);
  }
  return `{"metric":${JSON.stringify(labels)},"values":[${vs.join(',')}],"timestamps":[${ts.join(',')}]}\n`;
}
