/**
 * Loki's `GET /loki/api/v1/drilldown-limits`, what Logs Drilldown reads when it opens: the limits
 * that apply to every org here, in Loki's names and formats (durations as Prometheus prints them).
 */

/** The Loki release whose API and answers we reproduce (the conformance set was recorded on it). */
export const LOKI_API_VERSION = '3.4.6';

/** What `drilldown-limits` reports: the server's LogQL limits, in Loki's names. */
export interface DrilldownLimitsConfig {
  maxEntriesLimitPerQuery: number;
  maxQuerySeries: number;
  maxQueryLengthMs: number;
  timeoutMs: number;
  /** `streams.defaultRetentionDays` (0 = forever) */
  retentionDays: number;
}

/** Prometheus' model.Duration.String() (`30d1h`, `1m`, `0s`), as Loki prints its limits. */
export function formatModelDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  const unit = (name: string, size: number, exact: boolean) => {
    if (exact && rest % size !== 0) return;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${name}`;
      rest -= n * size;
    }
  };
  unit('y', 365 * 86_400_000, true);
  unit('w', 7 * 86_400_000, true);
  unit('d', 86_400_000, false);
  unit('h', 3_600_000, false);
  unit('m', 60_000, false);
  unit('s', 1000, false);
  unit('ms', 1, false);
  return out;
}

/**
 * The answer: `{limits, pattern_ingester_enabled, version}`. We add no `service_name` or `detected_level` to Loki
 * pushes (discover_service_name empty, discover_log_levels false); the volume API is on; patterns
 * are computed at query time (no pattern ingester, nothing persisted).
 */
export function drilldownLimits(c: DrilldownLimitsConfig) {
  return {
    limits: {
      discover_log_levels: false,
      discover_service_name: [],
      log_level_fields: [],
      max_entries_limit_per_query: c.maxEntriesLimitPerQuery,
      max_line_size_truncate: false,
      max_query_bytes_read: '0B',
      max_query_length: formatModelDuration(c.maxQueryLengthMs),
      max_query_lookback: '0s',
      max_query_range: '0s',
      max_query_series: c.maxQuerySeries,
      metric_aggregation_enabled: false,
      pattern_persistence_enabled: false,
      query_timeout: formatModelDuration(c.timeoutMs),
      retention_period: formatModelDuration(c.retentionDays * 86_400_000),
      volume_enabled: true,
      volume_max_series: 1000,
    },
    pattern_ingester_enabled: false,
    version: LOKI_API_VERSION,
  };
}
