/**
 * Object stores behind one small interface (DESIGN.md decision 3). Queries read local paths:
 * `localPath` answers where a key can be read from (for the local store, where it lives).
 * Keys are always built from internal ids (see key-layout.ts), never from user strings.
 */
import { mkdir, readdir, readFile, rename, rm, stat, open } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

export interface ObjectStore {
  /** Moves a finished local file into the store under `key` (atomically: fsync file, rename, fsync dir). */
  putFile(key: string, localFile: string): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** A local path from which DuckDB can read the object. */
  localPath(key: string): string;
  /** A local path DuckDB can read the object from (the file itself, or a disk-cache copy). */
  readablePath(key: string): Promise<string>;
  /** Directory for scratch files that become objects of this prefix (same file system as the store). */
  stagingDir(prefix: string): string;
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
