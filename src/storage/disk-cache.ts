/**
 * A bounded local disk cache of remote objects (the S3 store reads through it), least recently
 * used first out, bounded by bytes.
 *
 * Invariants:
 * - a file under its key's path is complete: downloads go to a temp file in the same directory
 *   and are renamed into place, so a crash mid-download leaves only a temp file (removed at open);
 * - concurrent misses of one key download it once (every caller waits for the same download);
 * - a pinned entry (handed out inside a read lease, see object-store.ts) is never evicted: the
 *   cache may exceed `maxBytes` while pinned entries alone fill it, and shrinks when they are
 *   released;
 * - the index is rebuilt from the directory at open (by file mtime, which a hit refreshes), so
 *   the cache survives a restart.
 * Directories named `_staging` (flush scratch files) are not part of the cache.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { currentReadLease } from './object-store.ts';

const TEMP_SUFFIX = '.dl-tmp';
const STAGING = '_staging';

interface Entry {
  bytes: number;
  pins: number;
}

/** Hit/miss/byte figures of one cache, exported on /metrics as `molesignal_cache_*{cache=...}`. */
export interface CacheFigures {
  hits: number;
  misses: number;
  /** bytes held now */
  bytes: number;
  evictions?: number;
}

export class DiskCache implements CacheFigures {
  /** insertion order is recency: the first entry is the least recently used */
  private readonly entries = new Map<string, Entry>();
  private readonly downloads = new Map<string, Promise<void>>();
  /** pins taken by callers waiting for a download, handed to the entry when it lands */
  private readonly waiting = new Map<string, number>();
  hits = 0;
  misses = 0;
  bytes = 0;
  evictions = 0;
  /** downloads started (one per miss of a key not already downloading) */
  downloadsStarted = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Opens (creating) the cache directory and rebuilds the index from what is in it. */
  static async open(dir: string, maxBytes: number): Promise<DiskCache> {
    const cache = new DiskCache(dir, maxBytes);
    await mkdir(dir, { recursive: true });
    const found: { key: string; bytes: number; mtimeMs: number }[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) {
          if (e.name !== STAGING) await walk(p);
        } else if (e.name.endsWith(TEMP_SUFFIX)) {
          await rm(p, { force: true }); // a download cut short by a crash
        } else if (e.isFile()) {
          const st = await stat(p);
          found.push({ key: relative(dir, p).split(sep).join('/'), bytes: st.size, mtimeMs: st.mtimeMs });
        }
      }
    };
    await walk(dir);
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) cache.insert(f.key, f.bytes, 0);
    await cache.evict();
    return cache;
  }

  pathOf(key: string): string {
    if (key === '' || key.includes('..') || key.startsWith('/') || key.split('/').includes(STAGING))
      throw new Error(`bad object key ${key}`);
    return join(this.dir, ...key.split('/'));
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** pins held on `key` (0 when absent) */
  pinsOf(key: string): number {
    return this.entries.get(key)?.pins ?? 0;
  }

  /**
   * The local path of `key`, downloaded with `fetch(tempPath)` on a miss. Pinned until the
   * current read lease ends (without a lease: not pinned, but the most recently used).
   */
  async get(key: string, fetch: (tempPath: string) => Promise<void>): Promise<string> {
    const path = this.pathOf(key);
    const hit = this.entries.get(key);
    if (hit) {
      this.touch(key, hit);
      this.pin(key, hit);
      try {
        await utimes(path, new Date(), new Date()); // recency for the next restart
        this.hits++;
        return path;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        // the copy was deleted behind the cache's back: forget it and download again
        if (this.entries.get(key) === hit) this.drop(key, hit);
      }
    }
    this.misses++;
    this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
    let download = this.downloads.get(key);
    if (!download) {
      this.downloadsStarted++;
      download = this.download(key, path, fetch).finally(() => this.downloads.delete(key));
      this.downloads.set(key, download);
    }
    try {
      await download;
    } catch (e) {
      this.unwait(key);
      throw e;
    }
    // the entry landed with this caller's pin already counted: hand it to the lease
    const entry = this.entries.get(key)!;
    const lease = currentReadLease();
    if (lease) lease.add(() => this.unpin(key, entry));
    else this.unpin(key, entry);
    return path;
  }

  /** Moves a finished local file into the cache as `key` (write-through after an upload). */
  async adopt(key: string, file: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    await rename(file, path);
    const st = await stat(path);
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.insert(key, st.size, 0);
    await this.evict();
  }

  /** Forgets `key` and deletes its copy (the object was deleted). */
  async remove(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (e) this.drop(key, e);
    await rm(this.pathOf(key), { force: true });
  }

  private async download(
    key: string,
    path: string,
    fetch: (tempPath: string) => Promise<void>,
  ): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    try {
      await fetch(temp);
      await rename(temp, path);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    const bytes = (await stat(path)).size;
    const pins = this.waiting.get(key) ?? 0;
    this.waiting.delete(key);
    this.insert(key, bytes, pins);
    await this.evict();
  }

  private unwait(key: string): void {
    const n = (this.waiting.get(key) ?? 1) - 1;
    if (n > 0) this.waiting.set(key, n);
    else this.waiting.delete(key);
  }

  private insert(key: string, bytes: number, pins: number): void {
    this.entries.set(key, { bytes, pins });
    this.bytes += bytes;
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }

  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
  }

  private pin(key: string, e: Entry): void {
    const lease = currentReadLease();
    if (!lease) return;
    e.pins++;
    lease.add(() => this.unpin(key, e));
  }

  private unpin(_key: string, e: Entry): void {
    e.pins--;
    if (e.pins === 0 && this.bytes > this.maxBytes) void this.evict();
  }

  /** Deletes least recently used, unpinned copies until the cache fits `maxBytes`. */
  private async evict(): Promise<void> {
    const victims: string[] = [];
    for (const [key, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (e.pins > 0) continue;
      this.drop(key, e);
      victims.push(key);
      this.evictions++;
    }
    for (const key of victims) {
      // a key downloaded again meanwhile is back in the index: its new file must stay
      if (!this.entries.has(key) && !this.downloads.has(key)) await rm(this.pathOf(key), { force: true });
    }
  }
}
