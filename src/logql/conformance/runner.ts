/**
 * The LogQL conformance run: starts a MoleSignal server on a temp data dir and a free port, pushes
 * `<dir>/data.json.gz` (decompressed, one `POST /loki/api/v1/push`), runs every query of
 * `<dir>/queries.json` over the Loki HTTP API exactly as recorded, and compares each answer with
 * `<dir>/expected/<id>.json` (compare.ts). The `api/` fixtures are checked by their own replay test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { processEnv } from '../../config/config.ts';
import { compareAnswer, type Actual, type Expected } from './compare.ts';
import type { QueryReport, RunOptions } from '../../lib/conformance-cli.ts';

export interface ConformanceQuery {
  id: string;
  category: string;
  type: 'range' | 'instant';
  query: string;
  time?: string;
  start?: string;
  end?: string;
  step?: string;
  limit?: number;
  direction?: string;
  ordered?: boolean;
}

export type { QueryReport, RunOptions };

const BIN = fileURLToPath(new URL('../../../bin/molesignal.js', import.meta.url));

export interface Server {
  url: string;
  auth: string;
  proc: ChildProcess;
  dataDir: string;
  output: string[];
}

/** A MoleSignal server process on a temp data dir and a free port (also the TraceQL runner's). */
export async function startServer(name = 'logql'): Promise<Server> {
  const dataDir = await mkdtemp(join(tmpdir(), `molesignal-${name}-conformance-`));
  const password = randomBytes(12).toString('hex');
  const proc = spawn(
    process.execPath,
    [BIN, 'start', '--data-dir', dataDir, '--http-port', '0', '--http-host', '127.0.0.1', '--grpc-port', '0'],
    {
      env: {
        ...processEnv(),
        MOLESIGNAL_ROOT_PASSWORD: password,
        MOLESIGNAL_LOG_LEVEL: 'info',
        // the recording Loki ran with max_query_series: 100000
        MOLESIGNAL_LOGQL_MAX_QUERY_SERIES: '100000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not listen within 60 s:\n${output.join('')}`)),
      60_000,
    );
    proc.stdout.on('data', (b: Buffer) => {
      output.push(b.toString());
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.stderr.on('data', (b: Buffer) => output.push(b.toString()));
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${output.join('')}`));
    });
  });
  // keep only the tail of the output from here on
  proc.stdout.on('data', () => output.splice(0, Math.max(0, output.length - 200)));
  const auth = 'Basic ' + Buffer.from(`root@example.com:${password}`).toString('base64');
  return { url, auth, proc, dataDir, output };
}

export async function stopServer(s: Server): Promise<void> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) {
    const exited = new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGTERM');
    await exited;
  }
  await rm(s.dataDir, { recursive: true, force: true });
}

export async function call(
  s: Server,
  path: string,
  init: RequestInit = {},
  timeoutMs = 120_000,
): Promise<Actual> {
  const res = await fetch(s.url + path, {
    ...init,
    headers: { authorization: s.auth, ...(init.headers as Record<string, string> | undefined) },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, body, text };
}

/** The request of a recorded query: the parameters exactly as recorded, absent ones not sent. */
export function requestPath(q: ConformanceQuery): string {
  const p = new URLSearchParams({ query: q.query });
  const keys = q.type === 'instant' ? (['time'] as const) : (['start', 'end', 'step'] as const);
  for (const k of keys) if (q[k] !== undefined) p.set(k, q[k]);
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  if (q.direction !== undefined) p.set('direction', q.direction);
  return `/loki/api/v1/${q.type === 'instant' ? 'query' : 'query_range'}?${p.toString()}`;
}

/** Flushes the `default` stream of the `default` org so answers come from Parquet. */
export async function flushDefault(s: Server): Promise<void> {
  const f = await call(s, '/api/default/streams/default/_flush', { method: 'POST' });
  if (f.status >= 300) throw new Error(`flush answered ${f.status}: ${f.text.slice(0, 300)}`);
}

/** How one recorded set is loaded, asked and compared (LogQL here, TraceQL in src/traces). */
export interface RecordedSet<Q extends { id: string }, E> {
  /** the server's temp-dir name prefix */
  name: string;
  load(s: Server, dir: string): Promise<void>;
  path(q: Q, expected: E): string;
  /** the query text a report shows */
  label(q: Q): string;
  compare(expected: E, actual: Actual, q: Q): string | null;
}

/**
 * Starts a server, loads the set (and flushes it unless `opts.flush` is false), asks every query of
 * `<dir>/queries.json` and compares each answer with `<dir>/expected/<id>.json`.
 */
export async function runRecordedSet<Q extends { id: string }, E>(
  dir: string,
  set: RecordedSet<Q, E>,
  opts: RunOptions = {},
): Promise<QueryReport[]> {
  const queries = JSON.parse(await readFile(join(dir, 'queries.json'), 'utf8')) as Q[];
  const wanted = opts.ids ? new Set(opts.ids) : null;
  const server = await startServer(set.name);
  const reports: QueryReport[] = [];
  try {
    await set.load(server, dir);
    if (opts.flush ?? true) await flushDefault(server);
    for (const q of queries) {
      if (wanted && !wanted.has(q.id)) continue;
      const expected = JSON.parse(await readFile(join(dir, 'expected', `${q.id}.json`), 'utf8')) as E;
      const started = performance.now();
      let detail: string | null;
      try {
        detail = set.compare(expected, await call(server, set.path(q, expected), {}, opts.timeoutMs), q);
      } catch (e) {
        detail = `request failed: ${e instanceof Error ? e.message : String(e)}`;
      }
      const r = {
        id: q.id,
        query: set.label(q),
        ok: detail === null,
        detail: detail ?? '',
        ms: performance.now() - started,
      };
      reports.push(r);
      opts.onReport?.(r);
    }
  } finally {
    await stopServer(server);
  }
  return reports;
}

export function runConformance(dir: string, opts: RunOptions = {}): Promise<QueryReport[]> {
  return runRecordedSet<ConformanceQuery, Expected>(
    dir,
    {
      name: 'logql',
      async load(s, d) {
        const raw = gunzipSync(await readFile(join(d, 'data.json.gz')));
        const r = await call(s, '/loki/api/v1/push', {
          method: 'POST',
          body: raw,
          headers: { 'content-type': 'application/json' },
        });
        if (r.status !== 204)
          throw new Error(`loading ${d}/data.json.gz: push answered ${r.status}: ${r.text.slice(0, 300)}`);
      },
      path: (q) => requestPath(q),
      label: (q) => q.query,
      compare: (expected, actual, q) => compareAnswer(expected, actual, q.ordered === true),
    },
    opts,
  );
}
