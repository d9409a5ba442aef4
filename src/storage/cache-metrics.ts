/**
 * The caches on /metrics under one set of names, labelled `cache="<name>"`:
 * `molesignal_cache_hits_total`, `molesignal_cache_misses_total`, `molesignal_cache_evictions_total`
 * and `molesignal_cache_bytes` (docs/operations.md#object-storage-s3-and-caches lists the caches).
 */
import type { MetricsRegistry } from '../lib/metrics.ts';
import type { CacheFigures } from './disk-cache.ts';

export function registerCacheMetrics(registry: MetricsRegistry, caches: Record<string, CacheFigures>): void {
  const each = (pick: (c: CacheFigures) => number) => (): [Record<string, string>, number][] =>
    Object.entries(caches).map(([cache, c]) => [{ cache }, pick(c)]);
  registry.collected(
    'molesignal_cache_hits_total',
    'Lookups a cache answered, by cache.',
    'counter',
    each((c) => c.hits),
  );
  registry.collected(
    'molesignal_cache_misses_total',
    'Lookups a cache could not answer (the data was read from the source), by cache.',
    'counter',
    each((c) => c.misses),
  );
  registry.collected(
    'molesignal_cache_evictions_total',
    'Entries a cache dropped to stay within its bound, by cache.',
    'counter',
    each((c) => c.evictions ?? 0),
  );
  registry.collected(
    'molesignal_cache_bytes',
    'Bytes a cache holds now (estimated for in-memory caches), by cache.',
    'gauge',
    each((c) => c.bytes),
  );
}
