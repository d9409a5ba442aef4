/** Aggregation operators at one step (Prometheus' aggregation / aggregationK / aggregationCountValues). */
import type { AggregateExpr } from '../ast.ts';
import { type Labels, METRIC_NAME } from '../labels.ts';
import type { Annotation, Sample } from '../value.ts';
import { execError } from './errors.ts';
import { formatFloat, goQuote, posString } from './format.ts';
import { labelsHash } from './xxhash.ts';

/** Neumaier-improved Kahan summation step (Prometheus' kahanSumInc). */
export function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

const NO_VALUES: number[] = [];

const isInf = (x: number): boolean => x === Infinity || x === -Infinity;

interface Group {
  metric: Labels;
  dropName: boolean;
  value: number;
  mean: number;
  kahanC: number;
  count: number;
  incremental: boolean;
  /** quantile's values (other operators keep none) */
  values: number[];
}

export function groupingKeyLabels(m: Labels, grouping: readonly string[], without: boolean): Labels {
  return m.grouping(grouping, without);
}

/** Prometheus' quantile over values (NaN sorts first). */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] ?? Number.NaN) * (1 - weight) + (sorted[upper] ?? Number.NaN) * weight;
}

export interface AggregateInput {
  e: AggregateExpr;
  samples: readonly Sample[];
  /** the evaluated parameter: a number, or the label name of count_values */
  param: number | string | null;
  t: number;
  annotations: Annotation[];
}

export function aggregate(inp: AggregateInput): Sample[] {
  const { e, samples, t } = inp;
  if (e.op === 'topk' || e.op === 'bottomk' || e.op === 'limitk' || e.op === 'limit_ratio') return aggregateK(inp);
  if (e.op === 'count_values') return countValues(inp);
  if (e.op === 'quantile') {
    const q = typeof inp.param === 'number' ? inp.param : Number.NaN;
    if (Number.isNaN(q) || q < 0 || q > 1) {
      const pos = e.param ? e.param.pos : e.pos;
      inp.annotations.push({
        level: 'warn',
        message: `PromQL warning: quantile value should be between 0 and 1, got ${formatFloat(q, 'g')} ${posString(pos)}`,
      });
    }
  }
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  for (const s of samples) {
    const metric = groupingKeyLabels(s.metric, e.grouping, e.without);
    let g = groups.get(metric.key);
    if (!g) {
      g = {
        metric,
        dropName: s.dropName === true && metric.has(METRIC_NAME),
        value: s.v,
        mean: s.v,
        kahanC: 0,
        count: 1,
        incremental: false,
        values: e.op === 'quantile' ? [s.v] : NO_VALUES,
      };
      if (e.op === 'stddev' || e.op === 'stdvar') g.value = Number.isFinite(s.v) ? 0 : Number.NaN;
      groups.set(metric.key, g);
      order.push(g);
      continue;
    }
    if (s.dropName === true && metric.has(METRIC_NAME)) g.dropName = true;
    addToGroup(e.op, g, s.v);
  }
  const out: Sample[] = [];
  for (const g of order) {
    let v: number;
    switch (e.op) {
      case 'sum':
        v = g.value + g.kahanC;
        break;
      case 'avg':
        v = g.incremental ? g.mean + g.kahanC : (g.value + g.kahanC) / g.count;
        break;
      case 'count':
        v = g.count;
        break;
      case 'group':
        v = 1;
        break;
      case 'min':
      case 'max':
        v = g.value;
        break;
      case 'stdvar':
        v = g.value / g.count;
        break;
      case 'stddev':
        v = Math.sqrt(g.value / g.count);
        break;
      case 'quantile':
        v = quantile(typeof inp.param === 'number' ? inp.param : Number.NaN, g.values);
        break;
    }
    out.push({ metric: g.metric, t, v, ...(g.dropName ? { dropName: true } : {}) });
  }
  return out;
}

function addToGroup(op: AggregateExpr['op'], g: Group, x: number): void {
  switch (op) {
    case 'sum':
      [g.value, g.kahanC] = kahanSumInc(x, g.value, g.kahanC);
      g.count++;
      return;
    case 'avg': {
      g.count++;
      if (isInf(g.mean)) {
        if (isInf(x) && g.mean > 0 === x > 0) return;
        if (!isInf(x) && !Number.isNaN(x)) return;
      }
      if (!g.incremental) {
        const [nv, nc] = kahanSumInc(x, g.value, g.kahanC);
        if (!isInf(nv)) {
          g.value = nv;
          g.kahanC = nc;
          return;
        }
        g.incremental = true;
        g.mean = g.value / (g.count - 1);
        g.kahanC /= g.count - 1;
      }
      const q = (g.count - 1) / g.count;
      [g.mean, g.kahanC] = kahanSumInc(x / g.count, q * g.mean, q * g.kahanC);
      return;
    }
    case 'count':
    case 'group':
      g.count++;
      return;
    case 'min':
      if (g.value > x || Number.isNaN(g.value)) g.value = x;
      g.count++;
      return;
    case 'max':
      if (g.value < x || Number.isNaN(g.value)) g.value = x;
      g.count++;
      return;
    case 'stddev':
    case 'stdvar': {
      g.count++;
      const delta = x - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (x - g.mean);
      return;
    }
    case 'quantile':
      g.values.push(x);
      g.count++;
      return;
    case 'topk':
    case 'bottomk':
    case 'limitk':
    case 'limit_ratio':
    case 'count_values':
      return;
  }
}

/** Prometheus' HashRatioSampler offset: the label set's hash as a fraction of 2^64, in [0, 1]. */
export function sampleOffset(m: Labels): number {
  return Number(labelsHash(m)) / 18446744073709551616;
}

function aggregateK(inp: AggregateInput): Sample[] {
  const { e, samples } = inp;
  const p = typeof inp.param === 'number' ? inp.param : Number.NaN;
  let k = 0;
  let ratio = 0;
  if (e.op === 'limit_ratio') {
    if (Number.isNaN(p)) throw execError(`Ratio value is NaN`);
    ratio = p;
    if (ratio < -1 || ratio > 1) {
      const capped = ratio < -1 ? -1 : 1;
      inp.annotations.push({
        level: 'warn',
        message: `PromQL warning: ratio value should be between -1 and 1, got ${formatFloat(ratio, 'g')}, capping to ${capped} ${posString(e.param ? e.param.pos : e.pos)}`,
      });
      ratio = capped;
    }
    if (ratio === 0) return [];
  } else {
    if (Number.isNaN(p)) throw execError('Parameter value is NaN');
    if (p >= 2 ** 63 || p < -(2 ** 63)) {
      throw execError(`Scalar value ${formatFloat(p, 'g')} overflows int64`);
    }
    k = Math.trunc(p);
    if (k < 1) return [];
  }
  const groups = new Map<string, Sample[]>();
  const order: Sample[][] = [];
  for (const s of samples) {
    const key = groupingKeyLabels(s.metric, e.grouping, e.without).key;
    let g = groups.get(key);
    if (!g) {
      g = [];
      groups.set(key, g);
      order.push(g);
    }
    g.push(s);
  }
  const out: Sample[] = [];
  for (const g of order) {
    if (e.op === 'topk') out.push(...stableSort(g, (a, b) => cmpDesc(a.v, b.v)).slice(0, k));
    else if (e.op === 'bottomk') out.push(...stableSort(g, (a, b) => cmpDesc(b.v, a.v, true)).slice(0, k));
    else if (e.op === 'limitk') out.push(...g.slice(0, k));
    else {
      for (const s of g) {
        const off = sampleOffset(s.metric);
        if ((ratio >= 0 && off < ratio) || (ratio < 0 && off >= 1 + ratio)) out.push(s);
      }
    }
  }
  return out;
}

/** Descending order with NaN last (for bottomk, `nanLast` keeps NaN last on the reversed order). */
function cmpDesc(a: number, b: number, reversed = false): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) {
    if (an && bn) return 0;
    const nanFirst = reversed ? -1 : 1;
    return an ? nanFirst : -nanFirst;
  }
  return b > a ? 1 : b < a ? -1 : 0;
}

function stableSort<T>(xs: readonly T[], cmp: (a: T, b: T) => number): T[] {
  return xs
    .map((x, i) => ({ x, i }))
    .sort((a, b) => cmp(a.x, b.x) || a.i - b.i)
    .map((p) => p.x);
}

function countValues(inp: AggregateInput): Sample[] {
  const { e, samples, t } = inp;
  const label = typeof inp.param === 'string' ? inp.param : '';
  if (label === '' || hasLoneSurrogate(label)) throw execError(`invalid label name ${goQuote(label)}`);
  const grouping = e.without ? e.grouping : [...e.grouping, label];
  const groups = new Map<string, Sample>();
  const order: Sample[] = [];
  for (const s of samples) {
    const m = groupingKeyLabels(s.metric.with(label, formatFloat(s.v, 'f')), grouping, e.without);
    const g = groups.get(m.key);
    if (g) g.v++;
    else {
      const n: Sample = { metric: m, t, v: 1 };
      groups.set(m.key, n);
      order.push(n);
    }
  }
  return order;
}

function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}
