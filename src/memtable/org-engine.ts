/**
 * One DuckDB instance per org (DESIGN.md decision 8): it holds the org's memtables and runs its
 * queries, sandboxed so that it can only read and write the org's own storage directory.
 * Invariant: the sandbox settings are applied and locked before any connection is handed out.
 */
import { mkdir } from 'node:fs/promises';
import { totalmem } from 'node:os';
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
    const instance = await DuckDBInstance.create(':memory:', { threads: String(opts.threads) });
    const setup = await instance.connect();
    const dir = allowedDir.endsWith('/') ? allowedDir : allowedDir + '/';
    await setup.run(`SET memory_limit = ${quoteLiteral(resolveMemoryLimit(opts.memoryLimit))}`);
    await setup.run(`SET allowed_directories = [${quoteLiteral(dir)}]`);
    await setup.run(`SET enable_external_access = false`);
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

  async closeAll(): Promise<void> {
    for (const e of this.engines.values()) (await e).close();
    this.engines.clear();
  }
}
