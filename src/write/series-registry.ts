/**
 * The metric series registry (DESIGN.md decision 7): per org, series id ↔ sorted label set, and
 * an in-memory inverted index label name → value → ids. Series are persisted in the catalog before
 * any sample of theirs enters the WAL, so WAL replay resolves the same ids. Ids only grow, so every
 * posting list is sorted by construction.
 */
import type { Catalog } from '../catalog/catalog.ts';
import { ByteKeyMap } from '../lib/byte-key-map.ts';
import { badRequest } from '../lib/errors.ts';
import { Labels, METRIC_NAME, type LabelMatcher } from '../promql/labels.ts';
import { compileAnchored } from '../promql/regex.ts';
import type { OrgId } from '../tenancy/org-id.ts';

export interface SeriesLimits {
  maxSeriesPerOrg: number;
  maxSeriesPerMetric: number;
}
/** bounds the raw-bytes cache (a sender that varies label order gets several keys per series) */
const MAX_RAW_KEYS = 1_000_000;
const MAX_RAW_KEY_BYTES = 256 * 1024 * 1024;

const NO_LIMITS: SeriesLimits = { maxSeriesPerOrg: Infinity, maxSeriesPerMetric: Infinity };

export interface Resolved {
  /** per input series; 0 = rejected by a limit */
  ids: Uint32Array;
  rejected: Labels[];
}

interface OrgSeries {
  nextId: number;
  /** new series being persisted: their ids are taken, their index entries not yet written */
  pending: Map<string, { id: number; done: Promise<void> }>;
  pendingPerMetric: Map<string, number>;
  /** a sender's exact label bytes → series id (remote_write), so known series skip decoding */
  rawIds: ByteKeyMap;
  byKey: Map<string, number>;
  /** index = series id */
  labels: Labels[];
  postings: Map<string, Map<string, number[]>>;
}

export interface SeriesInput {
  name: string;
  value: string;
}

/** Sorted, validated labels of one incoming series. */
export function seriesLabels(input: readonly SeriesInput[]): Labels {
  const seen = new Set<string>();
  for (const l of input) {
    if (l.name === '') throw badRequest('a series has a label with an empty name', 'MS_ERR_BAD_LABELS');
    if (seen.has(l.name))
      throw badRequest(`a series has the label ${JSON.stringify(l.name)} twice`, 'MS_ERR_BAD_LABELS');
    seen.add(l.name);
  }
  const labels = Labels.from(input);
  if (labels.get(METRIC_NAME) === '') {
    throw badRequest(`series ${labels.toString()} has no metric name (__name__)`, 'MS_ERR_BAD_LABELS');
  }
  return labels;
}

export class SeriesRegistry {
  private readonly orgs = new Map<OrgId, OrgSeries>();

  constructor(private readonly catalog: Catalog) {}

  private org(org: OrgId): OrgSeries {
    let o = this.orgs.get(org);
    if (!o)
      this.orgs.set(
        org,
        (o = {
          nextId: 1,
          pending: new Map(),
          pendingPerMetric: new Map(),
          rawIds: new ByteKeyMap(),
          byKey: new Map(),
          labels: [],
          postings: new Map(),
        }),
      );
    return o;
  }

  private index(o: OrgSeries, id: number, labels: Labels): void {
    o.byKey.set(labels.key, id);
    o.labels[id] = labels;
    for (const l of labels.list) {
      let values = o.postings.get(l.name);
      if (!values) o.postings.set(l.name, (values = new Map<string, number[]>()));
      let ids = values.get(l.value);
      if (!ids) values.set(l.value, (ids = []));
      ids.push(id);
    }
    o.nextId = Math.max(o.nextId, id + 1);
  }

  async load(): Promise<number> {
    const rows = await this.catalog.listSeries(null);
    for (const r of rows)
      this.index(this.org(r.org), r.id, Labels.from(r.labels.map(([name, value]) => ({ name, value }))));
    return rows.length;
  }

  /**
   * Ids for the given series, creating (and persisting) the new ones. Concurrent calls that meet
   * the same new series share one id (and wait for it to be persisted). A new series past a limit
   * gets id 0 and is reported in `rejected`: the caller drops its samples.
   */
  async resolve(org: OrgId, series: readonly Labels[], limits: SeriesLimits = NO_LIMITS): Promise<Resolved> {
    const o = this.org(org);
    const ids = new Uint32Array(series.length);
    const fresh: { id: number; labels: Labels }[] = [];
    const waits: Promise<void>[] = [];
    const rejected: Labels[] = [];
    const freshByKey = new Map<string, number>();
    let total = o.byKey.size + o.pending.size;
    series.forEach((labels, i) => {
      const known = o.byKey.get(labels.key);
      if (known !== undefined) {
        ids[i] = known;
        return;
      }
      const sameBatch = freshByKey.get(labels.key);
      if (sameBatch !== undefined) {
        ids[i] = sameBatch;
        return;
      }
      const pending = o.pending.get(labels.key);
      if (pending) {
        ids[i] = pending.id;
        waits.push(pending.done);
        return;
      }
      const metric = labels.get(METRIC_NAME);
      const perMetric =
        (o.postings.get(METRIC_NAME)?.get(metric)?.length ?? 0) + (o.pendingPerMetric.get(metric) ?? 0);
      if (total >= limits.maxSeriesPerOrg || perMetric >= limits.maxSeriesPerMetric) {
        rejected.push(labels);
        return;
      }
      const id = o.nextId++;
      total++;
      o.pendingPerMetric.set(metric, (o.pendingPerMetric.get(metric) ?? 0) + 1);
      fresh.push({ id, labels });
      freshByKey.set(labels.key, id);
      ids[i] = id;
    });
    if (fresh.length > 0) {
      const done = this.catalog
        .addSeries(
          fresh.map((f) => ({
            org,
            id: f.id,
            metricName: f.labels.get(METRIC_NAME),
            labels: f.labels.list.map((l) => [l.name, l.value] as [string, string]),
          })),
        )
        .then(() => {
          for (const f of fresh) this.index(o, f.id, f.labels);
        })
        .finally(() => {
          for (const f of fresh) {
            o.pending.delete(f.labels.key);
            const metric = f.labels.get(METRIC_NAME);
            const left = (o.pendingPerMetric.get(metric) ?? 1) - 1;
            if (left > 0) o.pendingPerMetric.set(metric, left);
            else o.pendingPerMetric.delete(metric);
          }
        });
      for (const f of fresh) o.pending.set(f.labels.key, { id: f.id, done });
      waits.push(done);
    }
    await Promise.all(waits);
    return { ids, rejected };
  }

  /** The label with the most distinct values among a metric's series: what drives its growth. */
  growthLabel(org: OrgId, metric: string): { name: string; values: number } | null {
    const o = this.orgs.get(org);
    const ids = o?.postings.get(METRIC_NAME)?.get(metric);
    if (!o || !ids) return null;
    const values = new Map<string, Set<string>>();
    for (const id of ids.slice(-10_000)) {
      for (const l of o.labels[id]!.list) {
        if (l.name === METRIC_NAME) continue;
        let v = values.get(l.name);
        if (!v) values.set(l.name, (v = new Set()));
        v.add(l.value);
      }
    }
    let best: { name: string; values: number } | null = null;
    for (const [name, v] of values) if (!best || v.size > best.values) best = { name, values: v.size };
    return best;
  }

  /**
   * The ids remembered for senders' exact label bytes (see `rememberRaw`): `get(buf, start, end)`
   * is the series id of bytes [start, end) of `buf`, 0 when unknown. Read-only for callers.
   */
  rawIds(org: OrgId): Pick<ByteKeyMap, 'get'> {
    return this.org(org).rawIds;
  }

  /** Remembers that bytes [start, end) of `buf` are series `id` (only ids of persisted series). */
  rememberRaw(org: OrgId, buf: Uint8Array, start: number, end: number, id: number): void {
    const raw = this.org(org).rawIds;
    if (raw.size >= MAX_RAW_KEYS || raw.keyBytes + (end - start) > MAX_RAW_KEY_BYTES) raw.clear();
    raw.set(buf, start, end, id);
  }

  /** Synchronous lookup (WAL replay): null when a series is unknown. */
  lookup(org: OrgId, series: readonly Labels[]): Uint32Array | null {
    const o = this.orgs.get(org);
    if (!o) return series.length === 0 ? new Uint32Array(0) : null;
    const ids = new Uint32Array(series.length);
    for (let i = 0; i < series.length; i++) {
      const id = o.byKey.get(series[i]!.key);
      if (id === undefined) return null;
      ids[i] = id;
    }
    return ids;
  }

  labels(org: OrgId, id: number): Labels | undefined {
    return this.orgs.get(org)?.labels[id];
  }

  count(org: OrgId): number {
    return this.orgs.get(org)?.byKey.size ?? 0;
  }

  /** Ids of the series matching every matcher, ascending. */
  select(org: OrgId, matchers: readonly LabelMatcher[]): number[] {
    const o = this.orgs.get(org);
    if (!o) return [];
    const tests = matchers.map((m) => matcherTest(m));
    // start from the smallest posting list a matcher can name; else from every series
    let candidates: readonly number[] | null = null;
    for (const m of matchers) {
      if (m.type !== '=' || m.value === '') continue;
      const ids = o.postings.get(m.name)?.get(m.value) ?? [];
      if (candidates === null || ids.length < candidates.length) candidates = ids;
    }
    // a regex that is an alternation of literals (`a|b|c`, as Grafana builds for multi-value
    // variables) names its posting lists too
    for (const m of matchers) {
      const alts = m.type === '=~' ? literalAlternatives(m.value) : null;
      if (alts === null) continue;
      const lists = alts.map((a) => o.postings.get(m.name)?.get(a) ?? []);
      const n = lists.reduce((k, l) => k + l.length, 0);
      if (candidates === null || n < candidates.length) candidates = [...new Set(lists.flat())].sort((x, y) => x - y);
    }
    if (candidates === null) {
      const regexes = matchers.filter((m) => m.type === '=~' && !tests[matchers.indexOf(m)]!(''));
      if (regexes.length > 0) {
        const m = regexes[0]!;
        const re = compileAnchored(m.value);
        const union: number[] = [];
        for (const [value, ids] of o.postings.get(m.name) ?? []) if (re.test(value)) union.push(...ids);
        candidates = union.sort((a, b) => a - b);
      } else {
        candidates = [...o.byKey.values()].sort((a, b) => a - b);
      }
    }
    return candidates.filter((id) => {
      const labels = o.labels[id]!;
      return tests.every((t, i) => t(labels.get(matchers[i]!.name)));
    });
  }

  labelNames(org: OrgId, ids?: readonly number[]): string[] {
    const o = this.orgs.get(org);
    if (!o) return [];
    if (!ids) return [...o.postings.keys()].sort();
    const names = new Set<string>();
    for (const id of ids) for (const l of o.labels[id]?.list ?? []) names.add(l.name);
    return [...names].sort();
  }

  labelValues(org: OrgId, name: string, ids?: readonly number[]): string[] {
    const o = this.orgs.get(org);
    if (!o) return [];
    if (!ids) return [...(o.postings.get(name)?.keys() ?? [])].sort();
    const values = new Set<string>();
    for (const id of ids) {
      const v = o.labels[id]?.get(name);
      if (v) values.add(v);
    }
    return [...values].sort();
  }
}

/** The literals of a regex made only of `|`-separated plain words; null for anything else or an empty branch. */
export function literalAlternatives(re: string): string[] | null {
  if (!/^[\w\-:/@ ,;=]+(\|[\w\-:/@ ,;=]+)*$/.test(re)) return null;
  return re.split('|');
}

function matcherTest(m: LabelMatcher): (value: string) => boolean {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compileAnchored(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compileAnchored(m.value);
      return (v) => !re.test(v);
    }
  }
}
