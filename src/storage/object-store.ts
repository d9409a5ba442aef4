/**
 * Object stores behind one small interface (DESIGN.md decision 3). Queries read local paths:
 * `readablePath` answers where a key can be read from (the local store: where it lives; the S3
 * store: its disk-cache copy, downloaded on a miss). Keys are always built from internal ids (see
 * key-layout.ts), never from user strings.
 *
 * Read leases: a disk-cache copy handed out by `readablePath` inside `withReadLease` (every HTTP
 * request runs in one) is pinned until the lease ends, so a running query never has a file
 * evicted under it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir, readdir, readFile, rename, rm, stat, open } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

export interface ObjectStore {
  /** Moves a finished local file into the store under `key` (atomically: fsync file, rename, fsync dir). */
  putFile(key: string, localFile: string): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /**
   * Where the object lives on this machine (the local store) or where its disk-cache copy goes
   * (the S3 store; it may be absent). Readers use `readablePath`.
   */
  localPath(key: string): string;
  /** A local path DuckDB can read the object from (the file itself, or a disk-cache copy). */
  readablePath(key: string): Promise<string>;
  /** Directory for scratch files that become objects of this prefix (same file system as the store). */
  stagingDir(prefix: string): string;
}

/** Releases taken while serving one request (or another unit of reading). */
export class ReadLease {
  private readonly releases: (() => void)[] = [];
  private ended = false;
  /** Runs `release` when the lease ends (at once if it has ended). */
  add(release: () => void): void {
    if (this.ended) release();
    else this.releases.push(release);
  }
  end(): void {
    this.ended = true;
    for (const r of this.releases.splice(0)) r();
  }
}

const leases = new AsyncLocalStorage<ReadLease>();

/** The lease of the current async context, if any. */
export const currentReadLease = (): ReadLease | undefined => leases.getStore();

/** Runs `fn` in a new read lease, ended when `fn` settles. */
export async function withReadLease<T>(fn: () => Promise<T>): Promise<T> {
  const lease = new ReadLease();
  try {
    return await leases.run(lease, fn);
  } finally {
    lease.end();
  }
}

/** `readablePath` of each key, in order; at most 8 downloads at a time. */
export async function readablePaths(store: ObjectStore, keys: readonly string[]): Promise<string[]> {
  const out = new Array<string>(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      out[i] = await store.readablePath(keys[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, keys.length) }, worker));
  return out;
}

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class LocalObjectStore implements ObjectStore {
  constructor(readonly root: string) {}

  localPath(key: string): string {
    if (key.includes('..') || key.startsWith('/')) throw new Error(`bad object key ${key}`);
    return join(this.root, ...key.split('/'));
  }
  async readablePath(key: string): Promise<string> {
    return this.localPath(key);
  }
  stagingDir(prefix: string): string {
    return join(this.localPath(prefix), '_staging');
  }
  async putFile(key: string, localFile: string): Promise<void> {
    const dest = this.localPath(key);
    await mkdir(dirname(dest), { recursive: true });
    await fsyncPath(localFile);
    await rename(localFile, dest);
    await fsyncPath(dirname(dest));
  }
  async get(key: string): Promise<Uint8Array> {
    return readFile(this.localPath(key));
  }
  async list(prefix: string): Promise<string[]> {
    const base = this.localPath(prefix);
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else out.push(relative(this.root, p).split(sep).join('/'));
      }
    };
    await walk(base);
    return out.sort();
  }
  async delete(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }
  async size(key: string): Promise<number> {
    return (await stat(this.localPath(key))).size;
  }
}
