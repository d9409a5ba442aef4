/**
 * Crash-test tools (RELIABILITY.md "Ack ledger", D1–D3, D7, D9): an in-process load generator that
 * posts OTLP/JSON logs and traces with unique ids, a ledger that records an id only after a 2xx,
 * Idempotency-Key retries, an exactly-once checker, and a set of server processes that a test kills
 * in `after` so none outlives it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AckLedger,
  otlpJsonLogs,
  removeDir,
  startServer,
  tempDir,
  type ServerProcess,
  type StartOptions,
} from './harness.ts';

export type Signal = 'logs' | 'traces';
export const SIGNALS: readonly Signal[] = ['logs', 'traces'];

/** Small flush thresholds, so flushes (and the flush crash points) happen within short runs. */
export const SMALL_FLUSH_ENV: Record<string, string> = {
  MOLESIGNAL_MEMTABLE_MAX_ROWS: '2000',
  MOLESIGNAL_MEMTABLE_CHECK_INTERVAL_MS: '100',
};

/** One request as sent: kept for keyed requests, so they can be retried with the same key and body. */
export interface SentRequest {
  signal: Signal;
  ids: string[];
  body: string;
  key: string;
  acked: boolean;
}

/** Ids are `<runId>-<l|t>-<seq>`; an id enters `acked` only after a 2xx for a request holding it. */
export class Ledger {
  readonly acked: Record<Signal, AckLedger> = { logs: new AckLedger(), traces: new AckLedger() };
  readonly sent: Record<Signal, Set<string>> = { logs: new Set(), traces: new Set() };
  readonly keyed: SentRequest[] = [];
  private seq = 0;
  private keys = 0;
  private spans = 0;
  readonly runId: string;

  constructor(runId = randomBytes(4).toString('hex')) {
    this.runId = runId;
  }

  nextIds(signal: Signal, n: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(`${this.runId}-${signal[0]}-${++this.seq}`);
    for (const id of out) this.sent[signal].add(id);
    return out;
  }

  nextKey(): string {
    return `${this.runId}-k${++this.keys}`;
  }

  /** 16 hex chars, unique within the run (the run id, then a counter): never all zero. */
  nextSpanId(): string {
    return this.runId + (++this.spans).toString(16).padStart(8, '0');
  }

  ack(signal: Signal, ids: readonly string[]): void {
    this.acked[signal].add(ids);
  }

  get ackedCount(): number {
    return this.acked.logs.acked.size + this.acked.traces.acked.size;
  }
}

/** Extra attributes of a record, derived from its id (so a checker can recompute them). */
export type AttrsOf = (id: string) => Record<string, string | number | boolean>;

const otlpValue = (v: string | number | boolean) =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? { intValue: String(v) }
      : { doubleValue: v }
    : typeof v === 'boolean'
      ? { boolValue: v }
      : { stringValue: v };

/** OTLP/JSON ExportTraceServiceRequest: one trace per request, one span per id, attribute `rid`. */
export function otlpJsonTraces(
  ledger: Ledger,
  ids: readonly string[],
  attrsOf?: AttrsOf,
  tsNs: bigint = BigInt(Date.now()) * 1_000_000n,
) {
  const traceId = randomBytes(16).toString('hex');
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'crash-load' } }] },
        scopeSpans: [
          {
            scope: { name: 'crash-load' },
            spans: ids.map((id, i) => ({
              traceId,
              spanId: ledger.nextSpanId(),
              name: 'work',
              kind: 2,
              startTimeUnixNano: String(tsNs + BigInt(i)),
              endTimeUnixNano: String(tsNs + BigInt(i) + 1_000n),
              attributes: [
                { key: 'rid', value: { stringValue: id } },
                ...Object.entries(attrsOf?.(id) ?? {}).map(([key, v]) => ({ key, value: otlpValue(v) })),
              ],
              status: { code: 1 },
            })),
          },
        ],
      },
    ],
  };
}

export function requestBody(
  ledger: Ledger,
  signal: Signal,
  ids: readonly string[],
  attrsOf?: AttrsOf,
): string {
  return JSON.stringify(
    signal === 'logs'
      ? otlpJsonLogs(ids.map((id) => ({ id, ...(attrsOf ? { attrs: attrsOf(id) } : {}) })))
      : otlpJsonTraces(ledger, ids, attrsOf),
  );
}

export type PostOutcome =
  { kind: 'status'; status: number; text: string } | { kind: 'network'; error: string };

/** POST one OTLP/JSON request; never throws. */
export async function postOtlp(
  server: ServerProcess,
  signal: Signal,
  body: string,
  key: string,
  timeoutMs = 20_000,
): Promise<PostOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== '') headers['idempotency-key'] = key;
  try {
    const res = await server.fetch(`/v1/${signal}`, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { kind: 'status', status: res.status, text: await res.text() };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return { kind: 'network', error: err.cause?.code ?? err.cause?.message ?? err.message };
  }
}

export interface LoadOptions {
  /** concurrent request loops */
  lanes?: number;
  /** records per request */
  batch?: number;
  /** stop after this many requests in total */
  maxRequests?: number;
  /** stop after this long */
  maxMs?: number;
  /** every k-th request carries an Idempotency-Key (0 = none) */
  keyedEvery?: number;
  /** call POST /api/default/streams/default/_flush this often (0 = never) */
  flushEveryMs?: number;
  /** stop every lane at the first network error (the server is gone) */
  stopOnNetworkError?: boolean;
  /** extra attributes per record */
  attrsOf?: AttrsOf;
  /** only this signal (default: both, alternating) */
  only?: Signal;
}

export interface RequestTrace {
  startedAt: number;
  endedAt: number;
  signal: Signal;
  outcome: PostOutcome;
}

export interface LoadStats {
  requests: number;
  acked: number;
  ackedRecords: number;
  statuses: Record<string, number>;
  networkErrors: Record<string, number>;
  flushes: number;
  flushFailures: number;
  durationMs: number;
  /** every request, in completion order */
  trace: RequestTrace[];
}

export interface LoadHandle {
  /** resolves when every lane has stopped (bounded by maxRequests/maxMs, a network error, or stop()) */
  done: Promise<LoadStats>;
  stop(): void;
}

/**
 * Sustained ingest against `server`: `lanes` loops alternate logs and traces; ids enter the ledger
 * only after a 2xx. Bounded in count and time; stops by itself.
 */
export function runLoad(server: ServerProcess, ledger: Ledger, opts: LoadOptions = {}): LoadHandle {
  const lanes = opts.lanes ?? 4;
  const batch = opts.batch ?? 20;
  const maxRequests = opts.maxRequests ?? 100_000;
  const maxMs = opts.maxMs ?? 10_000;
  const keyedEvery = opts.keyedEvery ?? 0;
  const flushEveryMs = opts.flushEveryMs ?? 0;
  const stopOnNetworkError = opts.stopOnNetworkError ?? true;
  const started = Date.now();
  const deadline = started + maxMs;
  let stopped = false;
  let issued = 0;
  const stats: LoadStats = {
    requests: 0,
    acked: 0,
    ackedRecords: 0,
    statuses: {},
    networkErrors: {},
    flushes: 0,
    flushFailures: 0,
    durationMs: 0,
    trace: [],
  };
  let wake: (() => void) | null = null;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  const more = () => !stopped && issued < maxRequests && Date.now() < deadline;

  const lane = async (n: number) => {
    let i = 0;
    while (more()) {
      const signal: Signal = opts.only ?? ((n + i++) % 2 === 0 ? 'logs' : 'traces');
      const number = ++issued;
      const ids = ledger.nextIds(signal, batch);
      const body = requestBody(ledger, signal, ids, opts.attrsOf);
      const keyed = keyedEvery > 0 && number % keyedEvery === 0;
      const req: SentRequest = { signal, ids, body, key: keyed ? ledger.nextKey() : '', acked: false };
      if (keyed) ledger.keyed.push(req);
      const startedAt = Date.now();
      const outcome = await postOtlp(server, signal, body, req.key);
      stats.requests++;
      stats.trace.push({ startedAt, endedAt: Date.now(), signal, outcome });
      if (outcome.kind === 'status') {
        stats.statuses[outcome.status] = (stats.statuses[outcome.status] ?? 0) + 1;
        if (outcome.status >= 200 && outcome.status < 300) {
          ledger.ack(signal, ids);
          req.acked = true;
          stats.acked++;
          stats.ackedRecords += ids.length;
        }
      } else {
        stats.networkErrors[outcome.error] = (stats.networkErrors[outcome.error] ?? 0) + 1;
        if (stopOnNetworkError) stop();
      }
    }
  };

  const flusher = async () => {
    while (flushEveryMs > 0 && more()) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, flushEveryMs);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      wake = null;
      if (!more()) break;
      try {
        const res = await server.fetch('/api/default/streams/default/_flush', {
          method: 'POST',
          signal: AbortSignal.timeout(20_000),
        });
        await res.text();
        if (res.ok) stats.flushes++;
        else stats.flushFailures++;
      } catch {
        stats.flushFailures++;
      }
    }
  };

  const all = [...Array.from({ length: lanes }, (_, n) => lane(n)), flusher()];
  const done = Promise.all(all).then(() => {
    stopped = true;
    stats.durationMs = Date.now() - started;
    return stats;
  });
  return { done, stop };
}

/**
 * D9: resend keyed requests with the same key and body — every one whose outcome was unknown, and
 * up to `ackedSample` that were already acknowledged (these must not be stored twice).
 */
export async function retryKeyed(
  server: ServerProcess,
  ledger: Ledger,
  ackedSample = 10,
): Promise<{ retried: number; acked: number }> {
  const unknown = ledger.keyed.filter((r) => !r.acked);
  const known = ledger.keyed.filter((r) => r.acked);
  const sample = known.slice(-ackedSample);
  let acked = 0;
  for (const r of [...unknown, ...sample]) {
    const outcome = await postOtlp(server, r.signal, r.body, r.key);
    assert.ok(
      outcome.kind === 'status' && outcome.status === 200,
      `retry of key ${r.key} failed: ${JSON.stringify(outcome).slice(0, 300)}`,
    );
    if (!r.acked) {
      ledger.ack(r.signal, r.ids);
      r.acked = true;
      acked++;
    }
  }
  return { retried: unknown.length + sample.length, acked };
}

/** GET /readyz until 200. */
export async function waitReady(server: ServerProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await server.fetch('/readyz', { auth: null });
      await res.text();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || !server.running)
      throw new Error(`server not ready within ${timeoutMs} ms:\n${server.log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a query as CSV, page by page: rows as arrays of strings (the header dropped). */
export async function queryCsv(server: ServerProcess, sql: string, pageSize = 50_000): Promise<string[][]> {
  const rows: string[][] = [];
  for (let from = 0; ; from += pageSize) {
    const res = await server.fetch('/api/default/_search?format=csv', {
      method: 'POST',
      body: JSON.stringify({ sql, from, size: pageSize }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`search failed ${res.status}: ${text.slice(0, 500)}`);
    const lines = text.split('\n').filter((l) => l !== '');
    const page = lines.slice(1).map((l) => l.split(','));
    rows.push(...page);
    if (page.length < pageSize) return rows;
  }
}

/** id → number of rows holding it, for one signal's `default` stream. */
export async function idCounts(server: ServerProcess, signal: Signal): Promise<Map<string, number>> {
  let rows: string[][];
  try {
    rows = await queryCsv(
      server,
      `SELECT "attr.rid" AS rid, count(*) AS c FROM ${signal}.default GROUP BY 1 ORDER BY 1`,
    );
  } catch (e) {
    // the stream (or its rid column) does not exist yet: nothing of it was ever stored
    if (/not found|not accessible|does not have a column|Referenced column/i.test((e as Error).message))
      return new Map();
    throw e;
  }
  return new Map(rows.map(([rid, c]) => [rid!, Number(c)]));
}

export interface CheckResult {
  logs: { present: number; acked: number };
  traces: { present: number; acked: number };
}

/**
 * Exactly once: every acked id is present, no id (acked or not) is present twice, and nothing is
 * present that was never sent.
 */
export async function checkExactlyOnce(
  server: ServerProcess,
  ledger: Ledger,
  label: string,
): Promise<CheckResult> {
  const out = {} as CheckResult;
  for (const signal of SIGNALS) {
    const counts = await idCounts(server, signal);
    const dups = [...counts].filter(([, c]) => c > 1);
    assert.deepEqual(
      dups.slice(0, 10),
      [],
      `${label}: ${dups.length} ${signal} ids are stored more than once (first 10 shown)`,
    );
    const missing = [...ledger.acked[signal].acked].filter((id) => !counts.has(id));
    assert.deepEqual(
      missing.slice(0, 10),
      [],
      `${label}: ${missing.length} of ${ledger.acked[signal].acked.size} acknowledged ${signal} ids are missing (first 10 shown)`,
    );
    const phantom = [...counts.keys()].filter(
      (id) => id.startsWith(`${ledger.runId}-`) && !ledger.sent[signal].has(id),
    );
    assert.deepEqual(phantom.slice(0, 10), [], `${label}: ${signal} ids present that were never sent`);
    out[signal] = { present: counts.size, acked: ledger.acked[signal].acked.size };
  }
  return out;
}

/** Files under `dir` (recursive) whose name matches. */
export async function findFiles(dir: string, match: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (match(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** The pino JSON lines of a server's output that parse as objects. */
export function logLines(server: ServerProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of server.log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by SIGKILL
    }
  }
  return out;
}

/** Starts servers and remembers them, so `cleanup()` can kill every one still running and remove the dirs. */
export class Servers {
  private readonly procs = new Set<ServerProcess>();
  private readonly dirs = new Set<string>();

  async dir(prefix = 'molesignal-crash-'): Promise<string> {
    const d = await tempDir(prefix);
    this.dirs.add(d);
    return d;
  }

  adoptDir(dir: string): string {
    this.dirs.add(dir);
    return dir;
  }

  async start(opts: StartOptions & { dataDir: string }): Promise<ServerProcess> {
    const server = await startServer(opts);
    this.procs.add(server);
    return server;
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.running) await p.kill().catch(() => undefined);
    this.procs.clear();
    for (const d of this.dirs) await removeDir(d);
    this.dirs.clear();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
