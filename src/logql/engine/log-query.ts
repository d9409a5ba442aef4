/**
 * Log queries (`{job="api"} |= "x" | json`): entries from the source in `direction` order, through
 * the pipeline, grouped into streams by their final label set (stream labels, structured metadata,
 * parsed and formatted labels), until `limit` lines over all streams passed. Each stream's values
 * are `["<ns>", "<line>"]` in `direction` order, as Loki answers. As Loki's merge iterator does,
 * an entry is dropped when an entry of the same stored stream with the same timestamp left the
 * pipeline with the same line (whatever the final labels).
 *
 * With `categorizeLabels` (Loki's `categorize-labels` encoding flag), each value is
 * `["<ns>", "<line>", {structuredMetadata?, parsed?}]` and streams are grouped by what is left
 * of the final label set once those two are taken out (Loki's categorizeLabelsIterator). A
 * label is structured metadata when the entry's metadata holds it with that value, else a stream
 * label when the entry's stream labels do, else parsed (parsers, label_format, `__error__`).
 * Loki tracks the category through its label builder instead; the two differ only when a stage
 * sets a label to the very value it already had (Loki: parsed; here: its original category).
 */
import { MoleError } from '../../lib/errors.ts';
import type { LineFilterStage, LogSelectorExpr } from '../ast.ts';
import { reorderStages, type CompiledPipeline } from '../pipeline/index.ts';
import type { LogEntry } from '../pipeline/types.ts';
import type { LogSource } from './source-types.ts';

export interface LogQueryParams {
  startNs: bigint;
  endNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
  /**
   * most distinct stream-label sets (the `stream` of categorize-labels: structured metadata and
   * parsed labels do not count, so one stream whose lines each carry a trace id stays one);
   * more fails the query. Loki applies `max_query_series` to metric queries only. Default: none
   */
  maxStreams?: number;
  categorizeLabels?: boolean;
  signal?: AbortSignal;
}

/** The third element of a categorized value; a category without labels is left out. */
export interface CategorizedLabels {
  structuredMetadata?: Record<string, string>;
  parsed?: Record<string, string>;
}

export type LokiValue = [ts: string, line: string] | [ts: string, line: string, labels: CategorizedLabels];

export interface LokiStream {
  stream: Record<string, string>;
  values: LokiValue[];
}

/** Loki's `max_query_series` for log queries: the same message as for metric queries. */
export function streamLimitError(maxStreams: number): MoleError {
  return new MoleError(`maximum number of series (${maxStreams}) reached for a single query`, {
    code: 'MS_ERR_LOGQL_SERIES_LIMIT',
    status: 400,
    reason: 'series_limit',
  });
}

/** Splits a line's final labels into stream labels and the categorized rest (see the header). */
export function categorize(
  labels: ReadonlyMap<string, string>,
  entry: LogEntry,
): { stream: Map<string, string>; extra: CategorizedLabels } {
  const stream = new Map<string, string>();
  const extra: CategorizedLabels = {};
  for (const [name, value] of labels) {
    if (entry.metadata[name] === value) (extra.structuredMetadata ??= {})[name] = value;
    else if (entry.stream[name] === value) stream.set(name, value);
    else (extra.parsed ??= {})[name] = value;
  }
  return { stream, extra };
}

/**
 * The line filters the pipeline starts with once Loki has moved each segment's line filters to
 * its front (up to the first line_format, they test the stored line): the source may apply them
 * while reading.
 */
export function leadingLineFilters(expr: LogSelectorExpr): LineFilterStage[] {
  const out: LineFilterStage[] = [];
  for (const s of reorderStages(expr.pipeline)) {
    if (s.type !== 'LineFilter') break;
    out.push(s);
  }
  return out;
}

/** A label set's identity: names sorted, NUL-separated. */
function labelKey(labels: ReadonlyMap<string, string>): string {
  const names = [...labels.keys()].sort();
  let key = '';
  for (const n of names) key += `${n}\u0000${labels.get(n)!}\u0000`;
  return key;
}

export async function evaluateLogQuery(
  expr: LogSelectorExpr,
  pipeline: CompiledPipeline,
  source: LogSource,
  params: LogQueryParams,
): Promise<LokiStream[]> {
  const filters = leadingLineFilters(expr);
  const onlyFilters = filters.length === expr.pipeline.length;
  const streams = new Map<string, LokiStream>();
  // the stream-label sets seen, for the series limit (the same count with or without
  // categorize-labels, so the header cannot change whether a query passes)
  const streamKeys = new Set<string>();
  const maxStreams = params.maxStreams ?? Infinity;
  const countStream = (key: string) => {
    if (streamKeys.has(key)) return;
    streamKeys.add(key);
    if (streamKeys.size > maxStreams) throw streamLimitError(maxStreams);
  };
  let lines = 0;
  if (params.limit <= 0) return [];
  const batches = source.read({
    matchers: expr.matchers,
    lineFilters: filters,
    startNs: params.startNs,
    endNs: params.endNs,
    direction: params.direction,
    ...(onlyFilters ? { limit: params.limit } : {}),
    ...(params.signal ? { signal: params.signal } : {}),
  });
  // lines already answered at the current timestamp, per stored stream (entries come in time order)
  let seenTs: bigint | null = null;
  const seen = new Map<object, Set<string>>();
  reading: for await (const batch of batches) {
    for (const entry of batch) {
      const out = pipeline.process(entry);
      if (out === null) continue;
      if (entry.ts !== seenTs) {
        seenTs = entry.ts;
        seen.clear();
      }
      let answered = seen.get(entry.stream);
      if (!answered) seen.set(entry.stream, (answered = new Set()));
      if (answered.has(out.line)) continue;
      answered.add(out.line);
      if (params.categorizeLabels) {
        const { stream, extra } = categorize(out.labels, entry);
        const key = labelKey(stream);
        let s = streams.get(key);
        if (!s) {
          countStream(key);
          s = { stream: Object.fromEntries(stream), values: [] };
          streams.set(key, s);
        }
        s.values.push([entry.ts.toString(), out.line, extra]);
      } else {
        const key = labelKey(out.labels);
        let s = streams.get(key);
        if (!s) {
          countStream(labelKey(categorize(out.labels, entry).stream));
          s = { stream: Object.fromEntries(out.labels), values: [] };
          streams.set(key, s);
        }
        s.values.push([entry.ts.toString(), out.line]);
      }
      if (++lines >= params.limit) break reading;
    }
  }
  return [...streams.values()];
}
