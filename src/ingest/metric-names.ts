/**
 * Prometheus-compatible metric and label names for protocols whose names may hold any character
 * (Influx measurements, fields and tags), as VictoriaMetrics' `-usePromCompatibleNaming` and
 * Prometheus' sanitizers produce them, so every stored series can be selected by plain PromQL.
 */
const BAD_METRIC_CHARS = /[^a-zA-Z0-9_:]/g;
const BAD_LABEL_CHARS = /[^a-zA-Z0-9_]/g;

/** Every character outside `[a-zA-Z0-9_:]` becomes `_`; a leading digit gets a `_` before it. */
export function sanitizeMetricName(name: string): string {
  const out = name.replace(BAD_METRIC_CHARS, '_');
  return out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57 ? `_${out}` : out;
}

/** Every character outside `[a-zA-Z0-9_]` becomes `_`; a leading digit gets a `_` before it. */
export function sanitizeLabelName(name: string): string {
  const out = name.replace(BAD_LABEL_CHARS, '_');
  return out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57 ? `_${out}` : out;
}
