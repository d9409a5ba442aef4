/**
 * Log queries (`{job="api"} |= "x" | json`): entries from the source in `direction` order, through
 * the pipeline, grouped into streams by their final label set (stream labels, structured metadata,
 * parsed and formatted labels), until `limit` lines over all streams passed. Each stream's values
 * are `["<ns>", "<line>"]` in `direction` order, as Loki answers.
 */
import type { LineFilterStage, LogSelectorExpr } from '../ast.ts';
import { reorderStages, type CompiledPipeline } from '../pipeline/index.ts';
import type { LogSource } from './source-types.ts';

export interface LogQueryParams {
  startNs: bigint;
  endNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
  signal?: AbortSignal;
}

export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
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
  reading: for await (const batch of batches) {
    for (const entry of batch) {
      const out = pipeline.process(entry);
      if (out === null) continue;
      const key = labelKey(out.labels);
      let s = streams.get(key);
      if (!s) {
        s = { stream: Object.fromEntries(out.labels), values: [] };
        streams.set(key, s);
      }
      s.values.push([entry.ts.toString(), out.line]);
      if (++lines >= params.limit) break reading;
    }
  }
  return [...streams.values()];
}
