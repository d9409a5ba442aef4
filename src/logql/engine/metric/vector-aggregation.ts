/**
 * Vector aggregations at one step, as Loki's vectorAggEvaluator: `by` keeps the listed labels
 * that the sample has (an empty value counts as present), `without` drops them; topk, bottomk,
 * sort and sort_desc keep each sample's own labels.
 */
import type { VectorAggregationExpr } from '../../ast.ts';
import type { LabelSet } from './labels.ts';
import type { Sample } from './values.ts';

interface Group {
  labels: LabelSet;
  value: number;
  mean: number;
  count: number;
  samples: Sample[];
}

/** NaN is the last choice of both orders: topk and bottomk replace a NaN first, as Loki's heaps do. */
const byValueDesc = (a: Sample, b: Sample): number => nanLast(a.value, b.value) ?? b.value - a.value;
const byValueAsc = (a: Sample, b: Sample): number => nanLast(a.value, b.value) ?? a.value - b.value;

function nanLast(a: number, b: number): number | null {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return null;
}

export function aggregateVector(e: VectorAggregationExpr, vec: readonly Sample[]): Sample[] {
  const names = new Set(e.grouping?.labels ?? []);
  const without = e.grouping?.without ?? false;
  const k = e.param ?? 0;
  if ((e.op === 'topk' || e.op === 'bottomk') && k < 1) return [];
  const groups = new Map<string, Group>();
  for (const s of vec) {
    const labels = without ? s.labels.drop(names) : s.labels.keep(names);
    let g = groups.get(labels.key);
    if (g === undefined) {
      g = {
        labels,
        value: e.op === 'stddev' || e.op === 'stdvar' ? 0 : s.value,
        mean: s.value,
        count: 1,
        samples: [s],
      };
      groups.set(labels.key, g);
      continue;
    }
    switch (e.op) {
      case 'sum':
        g.value += s.value;
        break;
      case 'avg':
        g.count++;
        g.mean += (s.value - g.mean) / g.count;
        break;
      case 'max':
        if (g.value < s.value || Number.isNaN(g.value)) g.value = s.value;
        break;
      case 'min':
        if (g.value > s.value || Number.isNaN(g.value)) g.value = s.value;
        break;
      case 'count':
        g.count++;
        break;
      case 'stddev':
      case 'stdvar': {
        g.count++;
        const delta = s.value - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (s.value - g.mean);
        break;
      }
      case 'topk':
      case 'bottomk':
      case 'sort':
      case 'sort_desc':
        g.samples.push(s);
        break;
    }
  }
  const out: Sample[] = [];
  for (const g of groups.values()) {
    switch (e.op) {
      case 'avg':
        out.push({ labels: g.labels, value: g.mean });
        break;
      case 'count':
        out.push({ labels: g.labels, value: g.count });
        break;
      case 'stddev':
        out.push({ labels: g.labels, value: Math.sqrt(g.value / g.count) });
        break;
      case 'stdvar':
        out.push({ labels: g.labels, value: g.value / g.count });
        break;
      case 'topk':
        out.push(...g.samples.sort(byValueDesc).slice(0, k));
        break;
      case 'bottomk':
        out.push(...g.samples.sort(byValueAsc).slice(0, k));
        break;
      case 'sort_desc':
        out.push(...g.samples.sort(byValueDesc));
        break;
      case 'sort':
        out.push(...g.samples.sort(byValueAsc));
        break;
      case 'sum':
      case 'min':
      case 'max':
        out.push({ labels: g.labels, value: g.value });
    }
  }
  return out;
}
