/**
 * One DuckDB instance per org (DESIGN.md decision 8): it holds the org's memtables and runs its
 * queries, sandboxed so that it can only read and write the org's own storage directory.
 * Invariant: the sandbox settings are applied and locked before any connection is handed out.
 *
 * The temp directory is part of the sandbox: DuckDB adds `temp_directory` to `allowed_directories`
 * on its own, and its default (`.tmp` under the process's working directory) is the same for every
 * instance in the process. Left at the default, one org could read another org's spilled memtable
 * and query blocks (`read_blob('<cwd>/.tmp/*')`), write files outside its directory, and two orgs
 * spilling at once would share temp file names (DuckDB crashed doing so). So each org spills
 * under its own directory, in `_staging/` (whose leftovers are removed at start).
 */
import { mkdir } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { OrgId } from '../tenancy/org-id.ts';

export interface EngineOptions {
  memoryLimit: string;
  threads: number;
}

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** `25%` → a byte count of this machine's RAM; other forms (`2GiB`) pass through to DuckDB. */
export function resolveMemoryLimit(limit: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(limit.trim());
  if (!m) return limit;
  return `${Math.floor((totalmem() * Number(m[1])) / 100 / 1024 / 1024)}MiB`;
}

/** Where an org's DuckDB spills: inside the org's own directory, never shared with another org. */
export const orgTempDir = (allowedDir: string): string => join(allowedDir, '_staging', 'duckdb_tmp');

export class OrgEngine {
  private constructor(
    readonly org: OrgId,
    readonly instance: DuckDBInstance,
    /** The connection that owns the memtable appenders (appends are synchronous). */
    readonly writer: DuckDBConnection,
    /** The connection for memtable DDL (create, alter, drop), kept apart from the appenders. */
    readonly ddl: DuckDBConnection,
  ) {}

  static async create(org: OrgId, allowedDir: string, opts: EngineOptions): Promise<OrgEngine> {
    await mkdir(allowedDir, { recursive: true });
    // DuckDB creates the temp directory itself (lazily, on the first spill) but not its parent
    await mkdir(join(allowedDir, '_staging'), { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', { threads: String(opts.threads) });
    const setup = await instance.connect();
    const dir = allowedDir.endsWith('/') ? allowedDir : allowedDir + '/';
    await setup.run(`SET memory_limit = ${quoteLiteral(resolveMemoryLimit(opts.memoryLimit))}`);
    await setup.run(`SET temp_directory = ${quoteLiteral(orgTempDir(allowedDir))}`);
    await setup.run(`SET allowed_directories = [${quoteLiteral(dir)}]`);
    await setup.run(`SET enable_external_access = false`);
    // footers of immutable Parquet files, kept between queries (validated by file mtime)
    await setup.run(`SET parquet_metadata_cache = true`);
    // An in-memory database checkpoints on commit once the changes pass this size (DuckDB 1.5),
    // compressing (dictionary + FSST) memtables that a flush reads once and drops soon after: a
    // sixth of the ingest CPU (`npm run bench -- logs`, perf). Memtables stay as appended.
    await setup.run(`SET checkpoint_threshold = '1TB'`);
    await setup.run(`SET autoinstall_known_extensions = false`);
    await setup.run(`SET autoload_known_extensions = false`);
    await setup.run(`SET lock_configuration = true`);
    setup.closeSync();
    const writer = await instance.connect();
    const ddl = await instance.connect();
    return new OrgEngine(org, instance, writer, ddl);
  }

  connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  close(): void {
    this.writer.closeSync();
    this.ddl.closeSync();
    this.instance.closeSync();
  }
}

export class EnginePool {
  private readonly engines = new Map<OrgId, Promise<OrgEngine>>();
  constructor(
    private readonly dirOf: (org: OrgId) => string,
    private readonly opts: EngineOptions,
  ) {}

  get(org: OrgId): Promise<OrgEngine> {
    let e = this.engines.get(org);
    if (!e) {
      e = OrgEngine.create(org, this.dirOf(org), this.opts);
      this.engines.set(org, e);
      e.catch(() => this.engines.delete(org));
    }
    return e;
  }

  /** The engines started so far (those still starting are awaited; failed ones left out). */
  async started(): Promise<OrgEngine[]> {
    const all = await Promise.allSettled([...this.engines.values()]);
    return all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  async closeAll(): Promise<void> {
    for (const e of this.engines.values()) (await e).close();
    this.engines.clear();
  }
}
