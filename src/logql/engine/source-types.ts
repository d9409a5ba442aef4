/**
 * The contract between the evaluator and storage: where log entries come from. The storage
 * implementation (source.ts) reads every logs stream of an org through DuckDB; tests may use an
 * in-memory source built from the same rows.
 */
import type { LineFilterStage, Matcher } from '../ast.ts';
import type { LogEntry } from '../pipeline/types.ts';

export interface LogReadRequest {
  /** the stream selector's matchers, on stream labels */
  matchers: readonly Matcher[];
  /**
   * line filters that may be applied while reading (the leading line filters of the pipeline,
   * before any stage that changes the line); the source may apply all, some or none of them, so
   * the caller still runs them. Sources apply them exactly as the pipeline does.
   */
  lineFilters: readonly LineFilterStage[];
  /** `_timestamp` range: start inclusive, end exclusive (ns) */
  startNs: bigint;
  endNs: bigint;
  /** the order of the batches and of the entries in each: forward = oldest first */
  direction: 'forward' | 'backward';
  /**
   * a hint: the caller stops after this many entries (a log query without stages that drop
   * lines); undefined = all
   */
  limit?: number;
  signal?: AbortSignal;
}

export interface LogSource {
  /**
   * Entries in `direction` order across all matching streams (ties on `ts` in a stable order),
   * in batches of any size. Stopping the iteration early releases what the source holds.
   */
  read(req: LogReadRequest): AsyncIterable<readonly LogEntry[]>;
}
