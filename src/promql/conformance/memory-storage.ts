/**
 * An in-memory Queryable for the conformance runner: series loaded by test scripts, selected by
 * label matchers (regular expressions fully anchored, as Prometheus/RE2 does: `^(?:re)$`).
 */
import type { LabelMatcher, Labels } from '../labels.ts';
import type { Queryable, StoredSeries } from '../storage.ts';
import { goRegex } from './script.ts';

interface MemSeries {
  labels: Labels;
  /** sorted by time */
  samples: { t: number; v: number; stale: boolean }[];
}

/** Compiles a matcher into a predicate on a label value ('' = the label is absent). */
export function matcherPredicate(m: LabelMatcher): (value: string) => boolean {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = anchoredRegex(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = anchoredRegex(m.value);
      return (v) => !re.test(v);
    }
  }
}

const regexCache = new Map<string, RegExp>();

/** RE2 semantics as Prometheus uses them: fully anchored, `.` matches newlines. */
export function anchoredRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    const base = goRegex(pattern, true);
    re = new RegExp(base.source, base.flags.includes('s') ? base.flags : `${base.flags}s`);
    regexCache.set(pattern, re);
  }
  return re;
}

export class MemoryStorage implements Queryable {
  private readonly series = new Map<string, MemSeries>();

  clear(): void {
    this.series.clear();
  }

  /** Adds samples (a sample at an existing time replaces it). */
  add(labels: Labels, samples: readonly { t: number; v: number; stale: boolean }[]): void {
    let s = this.series.get(labels.key);
    if (!s) {
      s = { labels, samples: [] };
      this.series.set(labels.key, s);
    }
    const byT = new Map(s.samples.map((x) => [x.t, x]));
    for (const x of samples) byT.set(x.t, { t: x.t, v: x.v, stale: x.stale });
    s.samples = [...byT.values()].sort((a, b) => a.t - b.t);
  }

  get size(): number {
    return this.series.size;
  }

  async select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<StoredSeries[]> {
    const preds = matchers.map((m) => ({ name: m.name, test: matcherPredicate(m) }));
    const out: StoredSeries[] = [];
    for (const s of this.series.values()) {
      if (!preds.every((p) => p.test(s.labels.get(p.name)))) continue;
      const inRange = s.samples.filter((x) => x.t >= minT && x.t <= maxT);
      if (inRange.length === 0) continue;
      const t = new Float64Array(inRange.length);
      const v = new Float64Array(inRange.length);
      let stale: Uint8Array | null = null;
      inRange.forEach((x, i) => {
        t[i] = x.t;
        v[i] = x.v;
        if (x.stale) {
          stale ??= new Uint8Array(inRange.length);
          stale[i] = 1;
        }
      });
      out.push({ labels: s.labels, t, v, stale });
    }
    return out;
  }
}
