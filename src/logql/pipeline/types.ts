/**
 * The contract between the log pipeline (this folder) and the evaluator (src/logql/engine/).
 *
 * The evaluator reads rows from storage and hands each one to a compiled pipeline as a LogEntry.
 * The pipeline runs the stages in Loki's order and semantics and answers the line as it leaves
 * the pipeline with its final label set, or null when a stage dropped it. A sample extractor
 * (for `unwrap`) answers the unwrapped value instead.
 */

/** One log line as read from storage. */
export interface LogEntry {
  /** `_timestamp`, nanoseconds since the epoch */
  ts: bigint;
  /** the line (`body`) */
  line: string;
  /**
   * the stream labels (what stream selectors match), as one object shared by every entry of a
   * stream — never mutated by the pipeline
   */
  stream: Readonly<Record<string, string>>;
  /** structured metadata of this line (shared objects are fine: never mutated) */
  metadata: Readonly<Record<string, string>>;
}

/** A line that passed the pipeline. */
export interface PipelineOutput {
  line: string;
  /**
   * every label of the result, in Loki's sense: stream labels, structured metadata, parsed and
   * formatted labels, and `__error__` / `__error_details__` when a stage failed. Loki keeps
   * empty values in some cases (`logfmt --keep-empty`), so an empty string is a real value here.
   */
  labels: Map<string, string>;
}

export interface CompiledPipeline {
  /** null when a stage dropped the line */
  process(entry: LogEntry): PipelineOutput | null;
}

export interface SampleOutput {
  value: number;
  labels: Map<string, string>;
}

export interface CompiledExtractor {
  /**
   * The unwrapped value and the labels (without the unwrapped label itself, as in Loki); null
   * when the line is dropped. A value that does not convert gives `__error__="SampleExtractionErr"`
   * and `__error_details__`, and value 0 — the evaluator decides (Loki fails the query with
   * "pipeline error" when such a sample survives).
   */
  process(entry: LogEntry): SampleOutput | null;
}
