/**
 * Fixed columns of each signal (DESIGN.md decision 6). Order is the column order of the
 * memtable tables and Parquet files. Every other column is an attribute column.
 */
import type { SignalType } from './column-batch.ts';

export type FixedColumnType = 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'EVENTS' | 'LINKS';

export interface FixedColumn {
  name: string;
  type: FixedColumnType;
}

const c = (name: string, type: FixedColumnType): FixedColumn => ({ name, type });

export const LOG_FIXED_COLUMNS: readonly FixedColumn[] = [
  c('_timestamp', 'BIGINT'),
  c('observed_timestamp', 'BIGINT'),
  c('severity_number', 'INTEGER'),
  c('severity_text', 'VARCHAR'),
  c('body', 'VARCHAR'),
  c('trace_id', 'VARCHAR'),
  c('span_id', 'VARCHAR'),
  c('flags', 'BIGINT'),
  c('event_name', 'VARCHAR'),
  c('dropped_attributes_count', 'INTEGER'),
  c('scope.name', 'VARCHAR'),
  c('scope.version', 'VARCHAR'),
];

export const SPAN_FIXED_COLUMNS: readonly FixedColumn[] = [
  c('_timestamp', 'BIGINT'),
  c('end_timestamp', 'BIGINT'),
  c('duration_ns', 'BIGINT'),
  c('trace_id', 'VARCHAR'),
  c('span_id', 'VARCHAR'),
  c('parent_span_id', 'VARCHAR'),
  c('trace_state', 'VARCHAR'),
  c('name', 'VARCHAR'),
  c('kind', 'INTEGER'),
  c('status_code', 'INTEGER'),
  c('status_message', 'VARCHAR'),
  c('flags', 'BIGINT'),
  c('dropped_attributes_count', 'INTEGER'),
  c('dropped_events_count', 'INTEGER'),
  c('dropped_links_count', 'INTEGER'),
  c('events', 'EVENTS'),
  c('links', 'LINKS'),
  c('scope.name', 'VARCHAR'),
  c('scope.version', 'VARCHAR'),
];

/**
 * Metric samples (DESIGN.md decision 7): one row per sample of the org's single `metrics._samples`
 * stream, sorted by (series_id, _timestamp) in Parquet; labels live in the series registry.
 * `stale` marks Prometheus staleness markers (a NaN payload that does not survive every codec).
 */
/** The one stream that holds an org's metric samples: SQL `metrics._samples`. */
export const SAMPLES_STREAM = '_samples';

export const SAMPLE_FIXED_COLUMNS: readonly FixedColumn[] = [
  c('_timestamp', 'BIGINT'),
  c('series_id', 'BIGINT'),
  c('value', 'DOUBLE'),
  c('stale', 'BOOLEAN'),
];

export const fixedColumnsOf = (signal: SignalType): readonly FixedColumn[] =>
  signal === 'logs' ? LOG_FIXED_COLUMNS : signal === 'traces' ? SPAN_FIXED_COLUMNS : SAMPLE_FIXED_COLUMNS;
