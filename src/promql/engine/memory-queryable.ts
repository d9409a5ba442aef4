/** A tiny in-memory Queryable for the engine's tests. */
import { type LabelMatcher, Labels } from '../labels.ts';
import type { Queryable, StoredSeries } from '../storage.ts';

/** A point value; 'stale' is a staleness marker. */
export type TestValue = number | 'stale';

export interface TestSeries {
  labels: Record<string, string>;
  /** [time ms, value] pairs, ascending */
  points: [number, TestValue][];
}

function matches(m: LabelMatcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return new RegExp(`^(?:${m.value})$`).test(value);
    case '!~':
      return !new RegExp(`^(?:${m.value})$`).test(value);
  }
}

export class MemoryQueryable implements Queryable {
  readonly selects: { minT: number; maxT: number }[] = [];
  private readonly series: { labels: Labels; points: [number, TestValue][] }[];

  constructor(series: TestSeries[]) {
    this.series = series.map((s) => ({ labels: Labels.fromRecord(s.labels), points: s.points }));
  }

  /** `load <interval>`-style helper: values at 0, step, 2*step, …; null skips a point. */
  static every(stepMs: number, labels: Record<string, string>, values: (TestValue | null)[]): TestSeries {
    const points: [number, TestValue][] = [];
    values.forEach((v, i) => {
      if (v !== null) points.push([i * stepMs, v]);
    });
    return { labels, points };
  }

  async select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<StoredSeries[]> {
    this.selects.push({ minT, maxT });
    const out: StoredSeries[] = [];
    for (const s of this.series) {
      if (!matchers.every((m) => matches(m, s.labels.get(m.name)))) continue;
      const pts = s.points.filter(([t]) => t >= minT && t <= maxT);
      if (pts.length === 0) continue;
      const stale = pts.some(([, v]) => v === 'stale') ? Uint8Array.from(pts, ([, v]) => (v === 'stale' ? 1 : 0)) : null;
      out.push({
        labels: s.labels,
        t: Float64Array.from(pts, ([t]) => t),
        v: Float64Array.from(pts, ([, v]) => (v === 'stale' ? Number.NaN : v)),
        stale,
      });
    }
    return out;
  }
}
