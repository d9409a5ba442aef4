/**
 * `GET /loki/api/v1/patterns`: Loki's pattern ingester clusters each stream's lines with Drain as
 * they arrive; we cluster the lines of the range when asked (one Drain per stream, lines oldest
 * first, at most MAX_LINES, the newest), then merge equal patterns over streams and count lines
 * per step: `{"status":"success","data":[{"pattern":"<_> - - [<_> …","samples":[[<s>, <n>], …]}]}`,
 * the largest pattern first. Counts are close to Loki's, not equal (Loki's are approximate too).
 */
import type { OrgId } from '../../tenancy/org-id.ts';
import type { Matcher } from '../ast.ts';
import { Drain, join } from './drain.ts';
import { readLines, type LogStore } from './log-store.ts';
import type { TimeRange } from './params.ts';

const MAX_LINES = 200_000;

export interface PatternResult {
  pattern: string;
  samples: [number, number][];
}

export async function patterns(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  matchers: readonly Matcher[],
  stepNs: bigint,
): Promise<PatternResult[]> {
  const lines = await readLines(store, org, range, matchers, { limit: MAX_LINES });
  const drains = new Map<object, { drain: Drain; counts: Map<number, Map<number, number>> }>();
  for (let i = lines.length - 1; i >= 0; i--) {
    const e = lines[i]!;
    let d = drains.get(e.stream);
    if (!d) drains.set(e.stream, (d = { drain: new Drain(), counts: new Map() }));
    const c = d.drain.train(e.line);
    if (!c) continue;
    const bucket = Number((e.ts - range.startNs) / stepNs);
    let perBucket = d.counts.get(c.id);
    if (!perBucket) d.counts.set(c.id, (perBucket = new Map<number, number>()));
    perBucket.set(bucket, (perBucket.get(bucket) ?? 0) + 1);
  }
  const merged = new Map<string, Map<number, number>>();
  for (const { drain, counts } of drains.values())
    for (const [id, perBucket] of counts) {
      const c = drain.clusters.get(id);
      if (!c) continue;
      const pattern = join(c);
      let m = merged.get(pattern);
      if (!m) merged.set(pattern, (m = new Map<number, number>()));
      for (const [b, n] of perBucket) m.set(b, (m.get(b) ?? 0) + n);
    }
  const startS = Number(range.startNs / 1_000_000_000n);
  const stepS = Number(stepNs) / 1e9;
  const total = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return [...merged]
    .sort(([pa, a], [pb, b]) => total(b) - total(a) || (pa < pb ? -1 : 1))
    .map(([pattern, m]) => ({
      pattern,
      samples: [...m].sort(([a], [b]) => a - b).map(([b, n]): [number, number] => [startS + b * stepS, n]),
    }));
}
