/**
 * The Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 basics, parsed by hand into a
 * sink: one call per sample (metric name, labels as sent, value, optional timestamp) and per
 * HELP/TYPE/UNIT line. Shared by the push route (`/api/v1/import/prometheus`) and the scraper.
 *   # HELP name text        (escapes `\\` and `\n`)
 *   # TYPE name counter|gauge|histogram|summary|untyped (OpenMetrics adds info, stateset,
 *                           gaugehistogram, unknown)
 *   name{label="value",...} value [timestamp] [# exemplar]
 * Label values escape `\\`, `\"` and `\n`; values may be `NaN`, `+Inf`, `-Inf`; timestamps are
 * integer milliseconds (0.0.4) or decimal seconds (OpenMetrics); exemplars are ignored.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 * https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md
 * Pure: no HTTP, no storage; every error names its line.
 */
import { badRequest } from '../../lib/errors.ts';
import type { SeriesInput } from '../../write/series-registry.ts';
import { forEachLine } from '../text-lines.ts';

/** The longest line accepted (bytes of one sample line; VictoriaMetrics' default is 256 KiB too). */
export const PROM_TEXT_MAX_LINE_CHARS = 256 * 1024;

export interface PromTextSink {
  /**
   * One sample. `labels` excludes `__name__`; `series` is the series text as sent (name and label
   * block), equal for equal series of one body; `timestampMs` is null when the line has none.
   */
  sample(
    name: string,
    labels: SeriesInput[],
    series: string,
    value: number,
    timestampMs: number | null,
    lineNo: number,
  ): void;
  metadata(family: string, kind: 'help' | 'type' | 'unit', value: string): void;
  /** a `# <word>` comment line other than HELP/TYPE/UNIT/EOF (the scraper's own markers) */
  comment?(text: string, lineNo: number): void;
}

export const METRIC_TYPES = new Set([
  'counter',
  'gauge',
  'histogram',
  'summary',
  'untyped',
  'unknown',
  'info',
  'stateset',
  'gaugehistogram',
]);

const lineError = (lineNo: number, message: string) =>
  badRequest(`line ${lineNo}: ${message}`, 'MS_ERR_BAD_LINE');

const isNameStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57);
const isSpace = (c: number) => c === 32 || c === 9;

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Go's strconv.ParseFloat for what exposition uses: decimals, `NaN`, `±Inf` (any case); null otherwise. */
export function parsePromFloat(s: string): number | null {
  if (FLOAT_RE.test(s)) return Number(s);
  switch (s.toLowerCase()) {
    case 'nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
  }
  return null;
}

function unescapeHelp(s: string): string {
  return s.indexOf('\\') < 0 ? s : s.replace(/\\([\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

function parseComment(line: string, lineNo: number, sink: PromTextSink): boolean {
  const m = /^#[ \t]+(HELP|TYPE|UNIT|EOF)(?:[ \t]+([^ \t]+)(?:[ \t]+(.*))?)?$/.exec(line);
  if (m === null) {
    sink.comment?.(line.slice(1).trim(), lineNo);
    return true;
  }
  const [, word, name, rest] = m;
  if (word === 'EOF') return false;
  if (name === undefined) throw lineError(lineNo, `# ${word} without a metric name`);
  const value = (rest ?? '').trim();
  if (word === 'TYPE') {
    if (!METRIC_TYPES.has(value))
      throw lineError(lineNo, `unknown metric type ${JSON.stringify(value.slice(0, 40))}`);
    sink.metadata(name, 'type', value);
  } else {
    sink.metadata(
      name,
      word === 'HELP' ? 'help' : 'unit',
      word === 'HELP' ? unescapeHelp(rest ?? '') : value,
    );
  }
  return true;
}

/** The quoted label value starting after `"` at `i`: its text and the index after the closing quote. */
function labelValue(line: string, i: number, lineNo: number): [string, number] {
  let out = '';
  let start = i;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) return [out + line.slice(start, i), i + 1];
    if (c === 92) {
      const next = line[i + 1];
      out +=
        line.slice(start, i) +
        (next === 'n' ? '\n' : next === '"' || next === '\\' ? next : `\\${next ?? ''}`);
      i++;
      start = i + 1;
    }
  }
  throw lineError(lineNo, 'unterminated label value');
}

function parseSample(line: string, lineNo: number, openMetrics: boolean, sink: PromTextSink): void {
  let i = 0;
  if (!isNameStart(line.charCodeAt(0)))
    throw lineError(lineNo, `expected a metric name, got ${JSON.stringify(line.slice(0, 40))}`);
  while (i < line.length && isNameChar(line.charCodeAt(i))) i++;
  const name = line.slice(0, i);
  const labels: SeriesInput[] = [];
  while (isSpace(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) === 123 /* { */) {
    i++;
    for (;;) {
      while (isSpace(line.charCodeAt(i))) i++;
      if (line.charCodeAt(i) === 125 /* } */) {
        i++;
        break;
      }
      const start = i;
      if (!isNameStart(line.charCodeAt(i)) || line.charCodeAt(i) === 58)
        throw lineError(lineNo, `expected a label name at column ${i + 1}`);
      while (i < line.length && isNameChar(line.charCodeAt(i)) && line.charCodeAt(i) !== 58) i++;
      const labelName = line.slice(start, i);
      while (isSpace(line.charCodeAt(i))) i++;
      if (line.charCodeAt(i) !== 61) throw lineError(lineNo, `expected "=" after label ${labelName}`);
      i++;
      while (isSpace(line.charCodeAt(i))) i++;
      if (line.charCodeAt(i) !== 34)
        throw lineError(lineNo, `expected a quoted value for label ${labelName}`);
      const [value, next] = labelValue(line, i + 1, lineNo);
      if (labelName === '__name__')
        throw lineError(lineNo, 'label "__name__" is not allowed in a label block');
      labels.push({ name: labelName, value });
      i = next;
      while (isSpace(line.charCodeAt(i))) i++;
      if (line.charCodeAt(i) === 44) i++;
      else if (line.charCodeAt(i) !== 125)
        throw lineError(lineNo, `expected "," or "}" after label ${labelName}`);
    }
  }
  const series = line.slice(0, i);
  while (isSpace(line.charCodeAt(i))) i++;
  let end = i;
  while (end < line.length && !isSpace(line.charCodeAt(end))) end++;
  const value = parsePromFloat(line.slice(i, end));
  if (i === end) throw lineError(lineNo, `sample ${name} has no value`);
  if (value === null)
    throw lineError(lineNo, `value ${JSON.stringify(line.slice(i, end).slice(0, 40))} is not a number`);
  i = end;
  while (isSpace(line.charCodeAt(i))) i++;
  let timestampMs: number | null = null;
  if (i < line.length && line.charCodeAt(i) !== 35 /* # exemplar */) {
    end = i;
    while (end < line.length && !isSpace(line.charCodeAt(end))) end++;
    const raw = line.slice(i, end);
    if (openMetrics) {
      const s = FLOAT_RE.test(raw) ? Number(raw) : NaN;
      if (Number.isNaN(s))
        throw lineError(lineNo, `timestamp ${JSON.stringify(raw.slice(0, 40))} is not a number of seconds`);
      timestampMs = Math.round(s * 1000);
    } else {
      if (!/^-?\d{1,16}$/.test(raw))
        throw lineError(lineNo, `timestamp ${JSON.stringify(raw.slice(0, 40))} is not integer milliseconds`);
      timestampMs = Number(raw);
    }
    i = end;
    while (isSpace(line.charCodeAt(i))) i++;
    if (i < line.length && line.charCodeAt(i) !== 35)
      throw lineError(
        lineNo,
        `unexpected text after the timestamp: ${JSON.stringify(line.slice(i, i + 40))}`,
      );
  }
  sink.sample(name, labels, series, value, timestampMs, lineNo);
}

/** Feeds every sample and metadata line of `text` to `sink`; throws a 400 naming the first bad line. */
export function parsePromText(text: string, openMetrics: boolean, sink: PromTextSink): void {
  let done = false;
  forEachLine(text, PROM_TEXT_MAX_LINE_CHARS, (raw, lineNo) => {
    if (done) return;
    let k = 0;
    while (k < raw.length && isSpace(raw.charCodeAt(k))) k++;
    if (k === raw.length) return;
    const line = k === 0 ? raw : raw.slice(k);
    if (line.charCodeAt(0) === 35) done = !parseComment(line, lineNo, sink);
    else parseSample(line, lineNo, openMetrics, sink);
  });
}
