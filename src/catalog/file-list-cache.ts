/**
 * An in-memory cache of each stream's catalogued file list, in front of any Catalog (SQLite,
 * Postgres). `listFiles` answers from the stream's whole list, filtered to the asked range, so
 * moving query windows (`now-1h`) hit too.
 *
 * Invalidation: every catalog call that may change files drops the cached lists before it runs
 * and again when it returns: `commitFlush` and `replaceFiles` drop their stream's list, every
 * other call not known to leave files alone drops all lists (so a method added later is safe
 * without touching this file). A list read that overlapped such a call is not stored (generation
 * check), so a stale list is never cached. `invalidate()` is the hook for anything else.
 */
import type { Catalog, FileRow, StreamType } from './catalog.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { CacheFigures } from '../storage/disk-cache.ts';

/** calls that never change the files table */
const KEEPS_FILES = new Set([
  'createOrg',
  'createUser',
  'setMembership',
  'createApiKey',
  'revokeApiKey',
  'upsertStream',
  'updateStreamSettings',
  'addStreamFields',
  'addSeries',
  'upsertMetricMetadata',
  'setOrgSettings',
  'removePendingDeletes',
  'close',
]);
/** calls whose first three arguments are (org, type, stream) and change only that stream's files */
const STREAM_SCOPED = new Set(['commitFlush', 'replaceFiles']);
const isRead = (name: string) => /^(get|list|load|stream|memberships)/.test(name);

/** Streams with more files than this are not cached (their lists are read range by range). */
const MAX_FILES_PER_STREAM = 50_000;
/** Upper bound of all cached lists, in files. */
const MAX_FILES = 500_000;
/** rough heap bytes of one cached file row beyond its key */
const ROW_BYTES = 320;

interface Cached {
  files: FileRow[];
  bytes: number;
}

export class FileListCache implements CacheFigures {
  private readonly lists = new Map<string, Cached>();
  private files = 0;
  private generation = 0;
  private readonly streamGeneration = new Map<string, number>();
  hits = 0;
  misses = 0;
  bytes = 0;
  evictions = 0;

  static streamKey(org: OrgId, type: StreamType, stream: string): string {
    return `${org}\u0000${type}\u0000${stream}`;
  }

  /** Drops the cached list of one stream, or all lists. */
  invalidate(streamKey?: string): void {
    if (streamKey === undefined) {
      this.generation++;
      for (const k of [...this.lists.keys()]) this.drop(k);
      return;
    }
    this.streamGeneration.set(streamKey, (this.streamGeneration.get(streamKey) ?? 0) + 1);
    this.drop(streamKey);
  }

  private drop(key: string): void {
    const c = this.lists.get(key);
    if (!c) return;
    this.lists.delete(key);
    this.files -= c.files.length;
    this.bytes -= c.bytes;
  }

  private stamp(key: string): string {
    return `${this.generation}/${this.streamGeneration.get(key) ?? 0}`;
  }

  async listFiles(
    inner: Catalog,
    org: OrgId,
    type: StreamType,
    stream: string,
    minTs: bigint | null,
    maxTs: bigint | null,
  ): Promise<FileRow[]> {
    const key = FileListCache.streamKey(org, type, stream);
    let c = this.lists.get(key);
    if (c) {
      this.hits++;
      this.lists.delete(key);
      this.lists.set(key, c); // most recently used last
    } else {
      this.misses++;
      const stamp = this.stamp(key);
      const files = await inner.listFiles(org, type, stream, null, null);
      if (files.length > MAX_FILES_PER_STREAM) return inner.listFiles(org, type, stream, minTs, maxTs);
      c = { files, bytes: files.reduce((n, f) => n + ROW_BYTES + f.key.length, 0) };
      if (stamp === this.stamp(key)) this.store(key, c);
    }
    const lo = minTs ?? -(2n ** 63n);
    const hi = maxTs ?? 2n ** 63n - 1n;
    return c.files.filter((f) => f.maxTs >= lo && f.minTs <= hi);
  }

  private store(key: string, c: Cached): void {
    this.drop(key);
    this.lists.set(key, c);
    this.files += c.files.length;
    this.bytes += c.bytes;
    for (const [k] of this.lists) {
      if (this.files <= MAX_FILES) break;
      this.drop(k);
      this.evictions++;
    }
  }

  /** Runs a catalog call that may change files, dropping the lists it may change before and after. */
  async changing<T>(name: string, args: unknown[], call: () => Promise<T>): Promise<T> {
    const scope =
      STREAM_SCOPED.has(name) && typeof args[2] === 'string'
        ? FileListCache.streamKey(args[0] as OrgId, args[1] as StreamType, args[2])
        : undefined;
    this.invalidate(scope);
    try {
      return await call();
    } finally {
      this.invalidate(scope);
    }
  }
}

/** `catalog` with its `listFiles` answered from `cache`; every other call passes through. */
export function withFileListCache(catalog: Catalog, cache: FileListCache): Catalog {
  return new Proxy(catalog, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const fn = value as (...a: unknown[]) => unknown;
      if (prop === 'listFiles') {
        return (org: OrgId, type: StreamType, stream: string, minTs: bigint | null, maxTs: bigint | null) =>
          cache.listFiles(target, org, type, stream, minTs, maxTs);
      }
      if (isRead(prop) || KEEPS_FILES.has(prop)) return fn.bind(target);
      return (...args: unknown[]) =>
        cache.changing(prop, args, () => Promise.resolve(fn.apply(target, args)));
    },
  });
}
