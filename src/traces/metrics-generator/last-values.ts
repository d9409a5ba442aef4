/**
 * The last stored value of each generated series of an org (`traces_spanmetrics_*`,
 * `traces_service_graph_*`), read through the metrics store like any PromQL selector: the base the
 * generator's counters continue from after a restart.
 */
import { MetricsQueryable, type MetricsStoreDeps } from '../../query/metrics-store.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { ReadLastValues } from './runtime.ts';

export function lastValuesReader(store: MetricsStoreDeps): ReadLastValues {
  return async (org: OrgId, sinceMs: number) => {
    const q = new MetricsQueryable(store, org);
    const matcher = { name: '__name__', type: '=~' as const, value: 'traces_(spanmetrics|service_graph)_.+' };
    const out: { labels: { name: string; value: string }[]; value: number }[] = [];
    for (const s of await q.select([matcher], sinceMs, Date.now() + 60_000)) {
      for (let i = s.t.length - 1; i >= 0; i--) {
        if (s.stale?.[i] === 1) break;
        out.push({ labels: [...s.labels.list], value: s.v[i]! });
        break;
      }
    }
    return out;
  };
}
