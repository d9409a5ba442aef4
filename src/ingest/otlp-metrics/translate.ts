/**
 * OTLP metrics → Prometheus series and samples, as Prometheus' own OTLP receiver does it in its
 * default `UnderscoreEscapingWithSuffixes` mode (prometheus/otlptranslator naming, and
 * storage/remote/otlptranslator/prometheusremotewrite for the data points):
 *
 * - metric names: characters outside [a-zA-Z0-9:] split the name into tokens joined by `_`; the
 *   unit adds a suffix (`s` → `seconds`, `By` → `bytes`, `By/s` → `bytes_per_second`, `{...}`
 *   annotations dropped) unless the name already has that token; monotonic sums end in `_total`,
 *   gauges with unit `1` in `_ratio`; a leading digit gets a `_` prefix.
 * - label names: characters outside [a-zA-Z0-9_] become `_`; a leading digit gets `key_`, a single
 *   leading `_` gets `key`; attributes whose names collide after that are joined with `;` (in key order).
 * - resource: `service.namespace`/`service.name` → `job` (`ns/name`), `service.instance.id` →
 *   `instance`; the other resource attributes go on a `target_info` series (value 1) when there are
 *   any and the resource has a job or instance. Scope name/version → `otel_scope_name`/`otel_scope_version`.
 * - gauge and sum: one sample per point. Cumulative sums are counters; DELTA sums and histograms
 *   are stored as sent (not accumulated), typed `unknown` in the metadata, as Prometheus' delta
 *   ingestion does. Sums and histograms without a temporality are refused.
 * - histogram: `_bucket{le}` with cumulative counts (and `le="+Inf"` = count), `_sum` (when sent), `_count`.
 * - summary: `{quantile}`, `_sum`, `_count`.
 * - exponential histogram: `_count` and `_sum` only (native histograms are not stored); every such
 *   point is reported back in `rejected_data_points` for its buckets.
 * - the NO_RECORDED_VALUE flag makes every sample of the point a staleness marker.
 * - timestamps: `time_unix_nano` truncated to milliseconds; a point without one takes the receive time.
 */
import type { MetricMetadataRow } from '../../catalog/catalog.ts';
import type { SeriesSamples } from '../metric-samples.ts';
import { Labels, METRIC_NAME } from '../../promql/labels.ts';
import {
  FLAG_NO_RECORDED_VALUE,
  formatFloat,
  type Attr,
  type OtlpExemplar,
  type OtlpMetric,
  type OtlpMetricsRequest,
  type OtlpPoint,
  type OtlpResourceMetrics,
} from './parse.ts';

export type NamerType =
  | 'gauge'
  | 'monotonic_counter'
  | 'non_monotonic_counter'
  | 'histogram'
  | 'exponential_histogram'
  | 'summary'
  | 'unknown';

const UNIT_MAP: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNIT_MAP: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** [main unit suffix, per-unit suffix ("per_second")], '' where there is none. */
function unitSuffixes(unit: string): [string, string] {
  const slash = unit.indexOf('/');
  const mainText = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perText = slash < 0 ? '' : unit.slice(slash + 1).trim();
  let main = '';
  let per = '';
  if (mainText !== '' && !/[{}]/.test(mainText))
    main = hasOwn(UNIT_MAP, mainText) ? UNIT_MAP[mainText]! : mainText;
  if (perText !== '' && !/[{}]/.test(perText)) {
    per = hasOwn(PER_UNIT_MAP, perText) ? PER_UNIT_MAP[perText]! : perText;
    if (per !== '') per = `per_${per}`;
  }
  return [main, per];
}

/** Invalid metric-name characters → `_`, runs of `_` → one, no leading `_`. */
const cleanUpUnit = (u: string): string =>
  u
    .replace(/[^a-zA-Z0-9:]/g, '_')
    .replace(/__+/g, '_')
    .replace(/^_/, '');

/** The Prometheus metric name for an OTLP metric (otlptranslator MetricNamer, with suffixes, no UTF-8). */
export function promMetricName(name: string, unit: string, type: NamerType): string {
  let tokens = name.split(/[^a-zA-Z0-9:]+/).filter((t) => t !== '');
  const [mainRaw, perRaw] = unitSuffixes(unit);
  let main = cleanUpUnit(mainRaw);
  let per = cleanUpUnit(perRaw);
  if (tokens.includes(main)) main = '';
  if (per === 'per_') per = '';
  else {
    per = per.replace(/_$/, '');
    if (tokens.includes(per)) per = '';
  }
  if (per !== '') main = main.replace(/_$/, '');
  if (main !== '') tokens.push(main);
  if (per !== '') tokens.push(per);
  if (type === 'monotonic_counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && type === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  let out = tokens.join('_');
  if (/^[0-9]/.test(out)) out = `_${out}`;
  if (out !== '' && out !== name && /^_*$/.test(out)) return '';
  return out;
}

/** The unit as Prometheus metadata names it (`s` → `seconds`, `By/s` → `bytes_per_second`). */
export function promUnit(unit: string): string {
  const [main, per] = unitSuffixes(unit);
  const m = cleanUpUnit(main).replace(/_$/, '');
  const p = cleanUpUnit(per).replace(/_$/, '');
  return m !== '' && p !== '' && p !== 'per' ? `${m}_${p}` : m !== '' ? m : p === 'per' ? '' : p;
}

/** A label name for an attribute key (otlptranslator LabelNamer, no UTF-8); '' when it cannot be one. */
export function promLabelName(key: string): string {
  if (key === '') return '';
  let out = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(out)) out = `key_${out}`;
  else if (out.startsWith('_') && !out.startsWith('__')) out = `key${out}`;
  if (out !== key && /^_*$/.test(out)) return '';
  return out;
}

export function namerType(m: OtlpMetric): NamerType {
  switch (m.kind) {
    case 'gauge':
      return 'gauge';
    case 'sum':
      return m.monotonic ? 'monotonic_counter' : 'non_monotonic_counter';
    case 'histogram':
      return 'histogram';
    case 'exponential_histogram':
      return 'exponential_histogram';
    case 'summary':
      return 'summary';
    case 'none':
      return 'unknown';
  }
}

/** The metadata type Prometheus records for the metric. */
function metadataType(m: OtlpMetric): string {
  switch (m.kind) {
    case 'gauge':
      return 'gauge';
    case 'sum':
      if (m.temporality === 1) return 'unknown';
      return m.monotonic ? 'counter' : 'gauge';
    case 'histogram':
    case 'exponential_histogram':
      return m.temporality === 1 ? 'unknown' : 'histogram';
    case 'summary':
      return 'summary';
    case 'none':
      return 'unknown';
  }
}

export interface TranslatedMetrics extends SeriesSamples {
  /** data points not (fully) stored */
  rejected: number;
  rejectedMessage: string;
  /**
   * exemplars, each on the series of its point (a histogram's: the `_bucket` whose bound holds its
   * value, as Prometheus' OTLP receiver does), labels `trace_id`, `span_id` and the filtered attributes
   */
  exemplars: {
    series: number;
    labels: { name: string; value: string }[];
    value: number;
    timestampMs: number;
  }[];
}

const TARGET_INFO = 'target_info';
const IDENTIFYING = ['service.namespace', 'service.name', 'service.instance.id'];
/** target_info is repeated at half the default 5-minute lookback delta between the resource's first and last point. */
const TARGET_INFO_INTERVAL_MS = 150_000;

class Builder {
  readonly out: TranslatedMetrics = {
    series: [],
    sampleCount: 0,
    sampleSeries: [],
    timestampsMs: [],
    values: [],
    stale: [],
    metadata: [],
    rejected: 0,
    rejectedMessage: '',
    exemplars: [],
  };
  private readonly byKey = new Map<string, number>();
  private readonly metadataByName = new Map<string, MetricMetadataRow>();
  private readonly problems = new Map<string, number>();

  constructor(private readonly nowMs: number) {}

  reject(points: number, problem: string): void {
    if (points <= 0) return;
    this.out.rejected += points;
    this.problems.set(problem, (this.problems.get(problem) ?? 0) + points);
  }

  metadata(row: MetricMetadataRow): void {
    if (!this.metadataByName.has(row.metricFamily)) {
      this.metadataByName.set(row.metricFamily, row);
      this.out.metadata.push(row);
    }
  }

  exemplar(series: number, e: OtlpExemplar, pointMs: number): void {
    const labels: { name: string; value: string }[] = [];
    if (e.traceId !== '') labels.push({ name: 'trace_id', value: e.traceId });
    if (e.spanId !== '') labels.push({ name: 'span_id', value: e.spanId });
    for (const a of e.attributes) labels.push({ name: promLabelName(a.key), value: a.value });
    const timestampMs = e.timeNs === 0n ? pointMs : Number(e.timeNs / 1_000_000n);
    this.out.exemplars.push({ series, labels, value: e.value, timestampMs });
  }

  /** Adds a sample; returns its series' index. */
  sample(labels: Labels, tsMs: number, value: number, stale: boolean): number {
    let idx = this.byKey.get(labels.key);
    if (idx === undefined) {
      idx = this.out.series.length;
      this.out.series.push(labels);
      this.byKey.set(labels.key, idx);
    }
    this.out.sampleSeries.push(idx);
    this.out.timestampsMs.push(tsMs);
    this.out.values.push(stale ? NaN : value);
    this.out.stale.push(stale ? 1 : 0);
    this.out.sampleCount++;
    return idx;
  }

  timeMs(p: OtlpPoint): number {
    return p.timeNs === 0n ? this.nowMs : Number(p.timeNs / 1_000_000n);
  }

  finish(): TranslatedMetrics {
    this.out.rejectedMessage = [...this.problems].map(([msg, n]) => `${n} data point(s): ${msg}`).join('; ');
    return this.out;
  }
}

/** Resource-level labels (job, instance) and the target_info attributes. */
interface ResourceContext {
  job: string;
  instance: string;
  attributes: readonly Attr[];
}

function resourceContext(res: OtlpResourceMetrics): ResourceContext {
  const get = (k: string): string | undefined => res.attributes.find((a) => a.key === k)?.value;
  const name = get('service.name');
  const ns = get('service.namespace');
  return {
    job: name === undefined ? '' : ns !== undefined ? `${ns}/${name}` : name,
    instance: get('service.instance.id') ?? '',
    attributes: res.attributes,
  };
}

/**
 * The labels of one series: attributes (sorted by key, colliding names joined with `;`), scope,
 * job/instance, then the extras (`__name__`, `le`, `quantile`). Null when an attribute key cannot
 * be a label name.
 */
function seriesLabels(
  attrs: readonly Attr[],
  ignore: readonly string[],
  scope: { name: string; version: string } | null,
  res: ResourceContext,
): Map<string, string> | null {
  const sorted = attrs
    .filter((a) => !ignore.includes(a.key))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const m = new Map<string, string>();
  for (const a of sorted) {
    const name = promLabelName(a.key);
    if (name === '') return null;
    const prev = m.get(name);
    m.set(name, prev !== undefined && prev !== '' ? `${prev};${a.value}` : a.value);
  }
  if (scope !== null && scope.name !== '') {
    m.set('otel_scope_name', scope.name);
    m.set('otel_scope_version', scope.version);
  }
  if (res.job !== '') m.set('job', res.job);
  if (res.instance !== '') m.set('instance', res.instance);
  return m;
}

const labelsOf = (base: Map<string, string>, name: string, extra?: [string, string]): Labels => {
  const list = [...base].map(([n, value]) => ({ name: n, value }));
  list.push({ name: METRIC_NAME, value: name });
  if (extra) list.push({ name: extra[0], value: extra[1] });
  return Labels.from(list);
};

function translateMetric(
  b: Builder,
  m: OtlpMetric,
  scope: { name: string; version: string },
  res: ResourceContext,
  times: { min: number; max: number },
): void {
  const n = m.points.length;
  if (m.kind === 'none' || n === 0) return;
  const name = promMetricName(m.name, m.unit, namerType(m));
  if (name === '') {
    b.reject(n, `metric name ${JSON.stringify(m.name.slice(0, 100))} gives no valid Prometheus name`);
    return;
  }
  if (m.kind !== 'gauge' && m.kind !== 'summary' && m.temporality === 0) {
    b.reject(n, `metric ${JSON.stringify(m.name.slice(0, 100))} has no aggregation temporality`);
    return;
  }
  let stored = 0;
  let expPoints = 0;
  for (const p of m.points) {
    const base = seriesLabels(p.attributes, [], scope, res);
    if (base === null) {
      b.reject(
        1,
        `an attribute key of metric ${JSON.stringify(m.name.slice(0, 100))} is not a valid label name`,
      );
      continue;
    }
    const t = b.timeMs(p);
    const stale = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
    switch (m.kind) {
      case 'gauge':
      case 'sum':
        if (p.value === null && !stale) {
          b.reject(1, 'a number data point has no value');
          continue;
        }
        {
          const idx = b.sample(labelsOf(base, name), t, p.value ?? 0, stale);
          for (const e of p.exemplars) b.exemplar(idx, e, t);
        }
        break;
      case 'histogram': {
        if (p.sum !== null) b.sample(labelsOf(base, `${name}_sum`), t, p.sum, stale);
        b.sample(labelsOf(base, `${name}_count`), t, p.count, stale);
        let cumulative = 0;
        const buckets = Math.min(p.explicitBounds.length, p.bucketCounts.length);
        const bucketSeries: number[] = [];
        for (let i = 0; i < buckets; i++) {
          cumulative += p.bucketCounts[i]!;
          bucketSeries.push(
            b.sample(
              labelsOf(base, `${name}_bucket`, ['le', formatFloat(p.explicitBounds[i]!)]),
              t,
              cumulative,
              stale,
            ),
          );
        }
        bucketSeries.push(b.sample(labelsOf(base, `${name}_bucket`, ['le', '+Inf']), t, p.count, stale));
        for (const e of p.exemplars) {
          const i = p.explicitBounds.findIndex((bound, k) => k < buckets && e.value <= bound);
          b.exemplar(bucketSeries[i === -1 ? buckets : i]!, e, t);
        }
        break;
      }
      case 'summary':
        b.sample(labelsOf(base, `${name}_sum`), t, p.sum ?? 0, stale);
        b.sample(labelsOf(base, `${name}_count`), t, p.count, stale);
        for (const [q, v] of p.quantiles)
          b.sample(labelsOf(base, name, ['quantile', formatFloat(q)]), t, v, stale);
        break;
      case 'exponential_histogram':
        if (p.sum !== null) b.sample(labelsOf(base, `${name}_sum`), t, p.sum, stale);
        b.sample(labelsOf(base, `${name}_count`), t, p.count, stale);
        expPoints++;
        break;
    }
    stored++;
    if (t < times.min) times.min = t;
    if (t > times.max) times.max = t;
  }
  b.reject(
    expPoints,
    'exponential histogram buckets are not stored (native histograms are not supported); _count and _sum were',
  );
  if (stored > 0)
    b.metadata({ metricFamily: name, type: metadataType(m), help: m.description, unit: promUnit(m.unit) });
}

function targetInfo(b: Builder, res: ResourceContext, times: { min: number; max: number }): void {
  if (times.min > times.max) return;
  if (!res.attributes.some((a) => !IDENTIFYING.includes(a.key))) return;
  const base = seriesLabels(res.attributes, IDENTIFYING, null, res);
  if (base === null || (!base.has('job') && !base.has('instance'))) return;
  const labels = labelsOf(base, TARGET_INFO);
  let last = -Infinity;
  for (let t = times.min; t < times.max; t += TARGET_INFO_INTERVAL_MS) {
    b.sample(labels, t, 1, false);
    last = t;
  }
  if (last < times.max) b.sample(labels, times.max, 1, false);
  b.metadata({ metricFamily: TARGET_INFO, type: 'gauge', help: 'Target metadata', unit: '' });
}

/** Translates a decoded request; `nowMs` stands in for missing point timestamps. */
export function translateMetrics(req: OtlpMetricsRequest, nowMs: number): TranslatedMetrics {
  const b = new Builder(nowMs);
  for (const r of req.resources) {
    const res = resourceContext(r);
    const times = { min: Infinity, max: -Infinity };
    for (const s of r.scopes) for (const m of s.metrics) translateMetric(b, m, s, res, times);
    targetInfo(b, res, times);
  }
  return b.finish();
}

/** Number of data points in a request (for reporting). */
export const pointCount = (req: OtlpMetricsRequest): number =>
  req.resources.reduce(
    (n, r) => n + r.scopes.reduce((k, s) => k + s.metrics.reduce((j, m) => j + m.points.length, 0), 0),
    0,
  );
