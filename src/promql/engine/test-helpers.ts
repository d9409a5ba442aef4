/** Shared helpers of the engine tests. */
import { parseExpr } from '../parser/index.ts';
import type { QueryResult } from '../value.ts';
import { type EngineOptions, instantQuery, rangeQuery } from './index.ts';
import type { MemoryQueryable } from './memory-queryable.ts';

export const MIN = 60_000;

/** Instant query → { 'name{a="1"}': value } (or { scalar: v }). */
export async function instant(
  q: MemoryQueryable,
  query: string,
  tMs: number,
  opts?: EngineOptions,
): Promise<Record<string, number>> {
  return flatten(await instantQuery(q, parseExpr(query), tMs, opts));
}

/** Range query → { 'name{a="1"}': [[t, v], …] } in output order. */
export async function range(
  q: MemoryQueryable,
  query: string,
  startMs: number,
  endMs: number,
  stepMs: number,
  opts?: EngineOptions,
): Promise<Record<string, [number, number][]>> {
  const r = await rangeQuery(q, parseExpr(query), startMs, endMs, stepMs, opts);
  if (r.value.type !== 'matrix') throw new Error(`expected a matrix, got ${r.value.type}`);
  const out: Record<string, [number, number][]> = {};
  for (const s of r.value.series) out[s.metric.toString()] = s.points.map((p) => [p.t, p.v]);
  return out;
}

export function flatten(r: QueryResult): Record<string, number> {
  const v = r.value;
  switch (v.type) {
    case 'scalar':
      return { scalar: v.v };
    case 'string':
      throw new Error('string result');
    case 'vector': {
      const out: Record<string, number> = {};
      for (const s of v.samples) out[s.metric.toString()] = s.v;
      return out;
    }
    case 'matrix': {
      const out: Record<string, number> = {};
      for (const s of v.series) for (const p of s.points) out[`${s.metric.toString()}@${p.t}`] = p.v;
      return out;
    }
  }
}
