/**
 * The file I/O the WAL does, behind an interface so tests can inject faults (RELIABILITY.md,
 * "Faulty fs"; the Prometheus `faultySegmentFile` pattern): EIO on the n-th fsync, short writes and
 * ENOSPC. `nodeWalFs` is the real implementation on node:fs/promises file handles.
 *
 * Contract for implementations: `write` may write fewer bytes than asked and must say how many (the
 * WAL treats that as fatal, it never retries); `write` must not keep `buf` after it settles (the WAL
 * reuses its write buffer); `sync` is fdatasync — it makes the data and the file size durable.
 */
import { open as fsOpen, mkdir, readdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** read: an existing file, read-only. write: an existing file, read-write. create: a new file (fails if it exists). */
export type WalOpenMode = 'read' | 'write' | 'create';

export interface WalFile {
  readonly path: string;
  /** Reads up to `length` bytes at `position`; returns the count (0 at end of file). */
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes `buf[offset, offset + length)` at `position`; returns the count actually written. */
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fdatasync: data and size durable. Never retried by the WAL (fsyncgate). */
  sync(): Promise<void>;
  truncate(lengthBytes: number): Promise<void>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface WalFs {
  /** Creates `dir` and missing parents, durably: each new entry is fsynced into its parent. */
  mkdirp(dir: string): Promise<void>;
  /** File names (not paths) in `dir`. */
  list(dir: string): Promise<string[]>;
  open(path: string, mode: WalOpenMode): Promise<WalFile>;
  remove(path: string): Promise<void>;
  /** fsync the directory itself, so a created or removed entry is durable. */
  syncDir(dir: string): Promise<void>;
}

const FLAGS: Record<WalOpenMode, string> = { read: 'r', write: 'r+', create: 'wx' };

class NodeWalFile implements WalFile {
  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buf, offset, length, position);
    return bytesRead;
  }

  async write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { bytesWritten } = await this.handle.write(buf, offset, length, position);
    return bytesWritten;
  }

  sync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(lengthBytes: number): Promise<void> {
    return this.handle.truncate(lengthBytes);
  }

  async sizeBytes(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

async function syncDirPath(dir: string): Promise<void> {
  const handle = await fsOpen(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export const nodeWalFs: WalFs = {
  async mkdirp(dir) {
    const firstCreated = await mkdir(dir, { recursive: true });
    if (firstCreated === undefined) return;
    // Every directory from `firstCreated` down to `dir` is new: fsync the parent of each.
    for (let d = resolve(dir); ; d = dirname(d)) {
      await syncDirPath(dirname(d));
      if (d === resolve(firstCreated) || d === dirname(d)) break;
    }
  },
  list(dir) {
    return readdir(dir);
  },
  async open(path, mode) {
    return new NodeWalFile(path, await fsOpen(path, FLAGS[mode]));
  },
  remove(path) {
    return unlink(path);
  },
  syncDir: syncDirPath,
};

/** An error shaped like the ones node:fs throws (`code`, `errno`, `syscall`). */
export function fsError(code: 'EIO' | 'ENOSPC', syscall: string, path: string): NodeJS.ErrnoException {
  const text = code === 'EIO' ? 'i/o error' : 'no space left on device';
  const err: NodeJS.ErrnoException = new Error(`${code}: ${text}, ${syscall} '${path}'`);
  err.code = code;
  err.errno = code === 'EIO' ? -5 : -28;
  err.syscall = syscall;
  err.path = path;
  return err;
}

/**
 * Test double: the real file system (or any `inner`) with faults armed by call count. Counters
 * cover every file of the WAL (segment creation syncs too), so tests usually arm a fault relative
 * to "now" with `failSyncAfter(n)`: the n-th `sync` from now throws EIO. Once fired, a fault is
 * disarmed.
 */
export class FaultyWalFs implements WalFs {
  /** File syncs (fdatasync) and writes seen so far, including faulty ones. */
  syncs = 0;
  writes = 0;
  dirSyncs = 0;
  /** Extra latency added to every file sync, to model a slower disk (benchmarks, group-commit tests). */
  syncDelayMs = 0;
  private eioOnSync: number | null = null;
  private shortOnWrite: number | null = null;
  private enospcOnWrite: number | null = null;

  constructor(private readonly inner: WalFs = nodeWalFs) {}

  /** The n-th file sync from now (n ≥ 1) throws EIO without syncing. */
  failSyncAfter(n: number): void {
    this.eioOnSync = this.syncs + n;
  }

  /** The n-th write from now writes only half its bytes and reports that count. */
  shortWriteAfter(n: number): void {
    this.shortOnWrite = this.writes + n;
  }

  /** The n-th write from now throws ENOSPC after writing nothing. */
  enospcAfter(n: number): void {
    this.enospcOnWrite = this.writes + n;
  }

  mkdirp(dir: string): Promise<void> {
    return this.inner.mkdirp(dir);
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }

  async open(path: string, mode: WalOpenMode): Promise<WalFile> {
    return new FaultyWalFile(this, await this.inner.open(path, mode));
  }

  remove(path: string): Promise<void> {
    return this.inner.remove(path);
  }

  syncDir(dir: string): Promise<void> {
    this.dirSyncs++;
    return this.inner.syncDir(dir);
  }

  /** @internal Called by FaultyWalFile: which fault, if any, this call gets. */
  nextSync(): 'eio' | null {
    this.syncs++;
    if (this.syncs !== this.eioOnSync) return null;
    this.eioOnSync = null;
    return 'eio';
  }

  /** @internal */
  nextWrite(): 'short' | 'enospc' | null {
    this.writes++;
    if (this.writes === this.shortOnWrite) {
      this.shortOnWrite = null;
      return 'short';
    }
    if (this.writes === this.enospcOnWrite) {
      this.enospcOnWrite = null;
      return 'enospc';
    }
    return null;
  }
}

class FaultyWalFile implements WalFile {
  constructor(
    private readonly owner: FaultyWalFs,
    private readonly inner: WalFile,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.inner.read(buf, offset, length, position);
  }

  async write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    switch (this.owner.nextWrite()) {
      case 'enospc':
        throw fsError('ENOSPC', 'write', this.inner.path);
      case 'short':
        return this.inner.write(buf, offset, Math.floor(length / 2), position);
      case null:
        return this.inner.write(buf, offset, length, position);
    }
  }

  async sync(): Promise<void> {
    if (this.owner.nextSync() === 'eio') throw fsError('EIO', 'fdatasync', this.inner.path);
    if (this.owner.syncDelayMs > 0) await new Promise((r) => setTimeout(r, this.owner.syncDelayMs));
    await this.inner.sync();
  }

  truncate(lengthBytes: number): Promise<void> {
    return this.inner.truncate(lengthBytes);
  }

  sizeBytes(): Promise<number> {
    return this.inner.sizeBytes();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
