/**
 * Integration-test harness: starts the real server process (bin/molesignal.js) on a free port with
 * a temp data dir, talks to it over HTTP, and can SIGKILL it or arm a named crash point
 * (MOLESIGNAL_CRASHPOINT). Also: an ack ledger, and a check for the shared conformance folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import pg from 'pg';
import { LocalObjectStore } from '../src/storage/object-store.ts';
import { s3Env, startRgw, type Rgw } from './kits/rgw.ts';
import { startPostgres, type PostgresServer } from './kits/postgres.ts';

export const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
export const SHARED_DIR = join(ROOT_DIR, '..', 'shared');
export const ROOT_USER = 'root@example.com';
export const ROOT_PASSWORD = 'test-root-password';
export const ROOT_AUTH = 'Basic ' + Buffer.from(`${ROOT_USER}:${ROOT_PASSWORD}`).toString('base64');

/** For tests that read ../shared: skip with a message locally, fail under CI=true. */
export function sharedOrSkip(t: { skip: (m: string) => void }, sub: string): string | null {
  const dir = join(SHARED_DIR, sub);
  if (existsSync(dir)) return dir;
  const msg = `${dir} is absent: the shared conformance data lives beside the project (../shared)`;
  if (process.env.CI === 'true') throw new Error(msg);
  t.skip(msg);
  return null;
}

export async function tempDir(prefix = 'molesignal-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface StartOptions {
  dataDir?: string;
  env?: Record<string, string>;
  args?: string[];
  crashpoint?: string;
  /** sets testing.enabled and the SQL-validator switch */
  disableSqlValidator?: boolean;
  /** test-only WAL fault, e.g. `eio-on-fsync:50` (RELIABILITY.md D5) */
  walFault?: string;
  /** extra node flags, e.g. --cpu-prof for profiling a benchmark */
  nodeArgs?: string[];
}

export class ServerProcess {
  readonly output: string[] = [];
  /** `127.0.0.1:<port>` of the gRPC listener (OTLP/gRPC, Jaeger PostSpans), from the start-up output */
  grpcAddress = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;

  constructor(
    readonly proc: ChildProcess,
    readonly dataDir: string,
    public url = '',
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  get log(): string {
    return this.output.join('');
  }

  async waitExit(timeoutMs = 30_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise(
        (_, rej) =>
          (timer = setTimeout(() => rej(new Error(`server did not exit within ${timeoutMs} ms`)), timeoutMs)),
      ),
    ]).finally(() => clearTimeout(timer));
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  async kill(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL');
    await this.waitExit();
  }

  async stop(): Promise<void> {
    if (this.running) this.proc.kill('SIGTERM');
    await this.waitExit();
  }

  fetch(path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const auth = init.auth === undefined ? ROOT_AUTH : init.auth;
    if (auth !== null && !headers.has('authorization')) headers.set('authorization', auth);
    return fetch(this.url + path, { ...init, headers });
  }

  /** POST /api/{org}/_search; throws on a non-2xx answer. */
  async search(
    sql: string,
    opts: { org?: string; auth?: string; start_time?: unknown; end_time?: unknown; size?: number } = {},
  ) {
    const res = await this.fetch(`/api/${opts.org ?? 'default'}/_search`, {
      method: 'POST',
      body: JSON.stringify({
        sql,
        start_time: opts.start_time,
        end_time: opts.end_time,
        size: opts.size ?? 100_000,
      }),
      ...(opts.auth ? { auth: opts.auth } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`search failed ${res.status}: ${text}`);
    return JSON.parse(text) as {
      hits: Record<string, unknown>[];
      total: number;
      stats: Record<string, number>;
      columns: { name: string; type: string }[];
    };
  }
}

/**
 * MOLESIGNAL_TEST_CATALOG=postgres runs every server of a test on a PostgreSQL catalog: one
 * throwaway server per test process (test/kits/postgres.ts), one database per data dir (a restart
 * on the same data dir finds its catalog). Tests that open catalog.sqlite themselves do not apply.
 */
const catalogDatabases = new Map<string, string>();
let testPostgres: Promise<PostgresServer> | null = null;
async function testCatalogEnv(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<Record<string, string>> {
  if (process.env.MOLESIGNAL_TEST_CATALOG !== 'postgres' || env.MOLESIGNAL_CATALOG_BACKEND) return {};
  testPostgres ??= startPostgres();
  const pg = await testPostgres;
  let url = catalogDatabases.get(dataDir);
  if (!url) catalogDatabases.set(dataDir, (url = await pg.createDatabase(`t${catalogDatabases.size + 1}`)));
  return { MOLESIGNAL_CATALOG_BACKEND: 'postgres', MOLESIGNAL_CATALOG_POSTGRES_URL: url };
}

/**
 * MOLESIGNAL_TEST_STORAGE=s3 runs every server of a test on the S3 backend: one throwaway Ceph
 * RADOS Gateway per test process (test/kits/rgw.ts), one key prefix per data dir (a restart on the
 * same data dir finds its objects). Tests that look into `<dataDir>/objects` themselves do not apply.
 */
const storagePrefixes = new Map<string, string>();
let testRgw: Promise<Rgw> | null = null;
async function testStorageEnv(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<Record<string, string>> {
  if (process.env.MOLESIGNAL_TEST_STORAGE !== 's3' || env.MOLESIGNAL_STORAGE_BACKEND) return {};
  testRgw ??= startRgw();
  const rgw = await testRgw;
  let prefix = storagePrefixes.get(dataDir);
  if (!prefix) storagePrefixes.set(dataDir, (prefix = `t${storagePrefixes.size + 1}/`));
  return s3Env(rgw, dataDir, prefix);
}

/**
 * Every object key of a data dir's store, sorted, whichever backend the test runs on (the local
 * `<dataDir>/objects` or, under MOLESIGNAL_TEST_STORAGE=s3, the data dir's prefix of the bucket);
 * staging files excluded.
 */
export async function objectKeys(dataDir: string): Promise<string[]> {
  const prefix = storagePrefixes.get(dataDir);
  if (prefix !== undefined && testRgw) {
    const s3 = (await testRgw).client();
    const bucket = (await testRgw).bucket;
    const out: string[] = [];
    try {
      let token: string | undefined;
      do {
        const r = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) out.push(o.Key!.slice(prefix.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } finally {
      s3.destroy();
    }
    return out.sort();
  }
  const keys = await new LocalObjectStore(join(dataDir, 'objects')).list('');
  return keys.filter((k) => !k.split('/').includes('_staging'));
}

/**
 * Rows of a read-only SQL query on a stopped (or running) server's catalog, whichever backend the
 * test runs on (SQLite `<dataDir>/catalog.sqlite`, or its PostgreSQL database under
 * MOLESIGNAL_TEST_CATALOG=postgres). Integers come back as bigint on both.
 */
export async function catalogRows(dataDir: string, sql: string): Promise<Record<string, unknown>[]> {
  const url = catalogDatabases.get(dataDir);
  if (url) {
    const client = new pg.Client({ connectionString: url });
    client.setTypeParser(20, (v: string) => BigInt(v)); // int8
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(dataDir, 'catalog.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).safeIntegers(true).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Starts the server and resolves once it listens (or rejects with its output if it exits first). */
export async function startServer(opts: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? (await tempDir());
  const env: Record<string, string> = {
    ...(await testCatalogEnv(dataDir, opts.env)),
    ...(await testStorageEnv(dataDir, opts.env)),
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    MOLESIGNAL_ROOT_PASSWORD: ROOT_PASSWORD,
    MOLESIGNAL_LOG_LEVEL: 'info',
    ...(opts.crashpoint || opts.disableSqlValidator || opts.walFault
      ? { MOLESIGNAL_TESTING_ENABLED: 'true' }
      : {}),
    ...(opts.walFault ? { MOLESIGNAL_TESTING_WAL_FAULT: opts.walFault } : {}),
    ...(opts.crashpoint ? { MOLESIGNAL_CRASHPOINT: opts.crashpoint } : {}),
    ...(opts.disableSqlValidator ? { MOLESIGNAL_TESTING_DISABLE_SQL_VALIDATOR: 'true' } : {}),
    ...opts.env,
  };
  const proc = spawn(
    process.execPath,
    [
      '--max-old-space-size=768',
      '--max-semi-space-size=64', // as bin/molesignal.js and `npm start` run it
      ...(opts.nodeArgs ?? []),
      join(ROOT_DIR, 'bin', 'molesignal.js'),
      'start',
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--http-host',
      '127.0.0.1',
      '--grpc-port',
      '0',
      ...(opts.args ?? []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const server = new ServerProcess(proc, dataDir);
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer) => {
      server.output.push(b.toString());
      const grpc = /gRPC \(OTLP, Jaeger\) listening on ([0-9.]+:\d+)/.exec(server.log);
      if (grpc) server.grpcAddress = grpc[1]!;
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(server.log);
      if (m) resolve(m[1]!);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (b: Buffer) => server.output.push(b.toString()));
    proc.once('exit', (code, signal) =>
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${server.log}`)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  server.url = await Promise.race([
    listening,
    new Promise<string>(
      (_, rej) =>
        (timer = setTimeout(
          () => rej(new Error(`server did not listen within 30 s:\n${server.log}`)),
          30_000,
        )),
    ),
  ]).finally(() => clearTimeout(timer));
  return server;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Records ids only after the server acknowledged them. */
export class AckLedger {
  readonly acked = new Set<string>();
  add(ids: Iterable<string>): void {
    for (const id of ids) this.acked.add(id);
  }
}

export const otlpJsonLogs = (
  records: { id: string; body?: string; attrs?: Record<string, unknown> }[],
  tsNs: bigint = BigInt(Date.now()) * 1_000_000n,
) => ({
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'harness' } }] },
      scopeLogs: [
        {
          scope: { name: 'harness' },
          logRecords: records.map((r, i) => ({
            timeUnixNano: String(tsNs + BigInt(i)),
            severityNumber: 9,
            severityText: 'INFO',
            body: { stringValue: r.body ?? `record ${r.id}` },
            attributes: [
              { key: 'rid', value: { stringValue: r.id } },
              ...Object.entries(r.attrs ?? {}).map(([key, v]) => ({
                key,
                value:
                  typeof v === 'number'
                    ? Number.isInteger(v)
                      ? { intValue: String(v) }
                      : { doubleValue: v }
                    : typeof v === 'boolean'
                      ? { boolValue: v }
                      : { stringValue: String(v) },
              })),
            ],
          })),
        },
      ],
    },
  ],
});
