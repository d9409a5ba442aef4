/**
 * Issue 6's traces workload (done-when 5): ≥ 1 M spans of realistic traces (bench/lib/trace-data.ts,
 * seeded; 13–47 spans per trace over 8 services, ~2 % errors, log-normal durations) sent as
 * OTLP/HTTP protobuf requests of ~1,000 spans over 4 concurrent keep-alive lanes, pre-encoded before
 * timing. Measures spans/s until a SQL count sees every span, spans per server CPU-second, peak RSS,
 * bytes per span on disk after a flush, then trace-by-id latency (p50/p99 over --lookups random ids,
 * each answer checked against the trace's span count) and search latency (median of --runs after a
 * warm-up; each answer checked against the generator's count of matching traces).
 *
 * Trace by id and search go through the Tempo API (`GET /api/traces/<id>`, `GET /api/search?q=`)
 * when the server has the routes (probed once; a missing one is reported "not built yet"), and
 * through SQL via `POST /api/default/_search` (`WHERE trace_id = '…'` without a time range, as a
 * trace-by-id request has none; 200 lookups when the Tempo API was measured), which shows what the
 * storage costs apart from the API.
 *
 * Flags: --spans N (1000000) --seed N (42) --batch N (1000) --lanes N (4) --lookups N (1000)
 *        --runs N (5) --env KEY=VALUE,... (server settings) --keep 1 (print the data dir, keep it)
 *        --tempo-search 0 (skip the Tempo API searches)
 */
import { loadavg } from 'node:os';
import { ROOT_AUTH, removeDir, startServer, type ServerProcess } from '../../test/harness.ts';
import { cpuSeconds, diskUse, peakRss, sendUntilQueryable } from '../lib/server-client.ts';
import { generateTraceWorkload, SEARCHES, type TraceWorkload } from '../lib/trace-data.ts';
import { seededRandom } from '../lib/tsbs-data.ts';
import type { BenchResult } from '../run.ts';

const fmtInt = (n: number) => Math.round(n).toLocaleString('en');
const fmtMs = (n: number) => (Number.isNaN(n) ? 'n/a' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const fmtMiB = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function getJson(server: ServerProcess, path: string): Promise<{ status: number; body: unknown }> {
  const r = await server.fetch(path, { signal: AbortSignal.timeout(120_000) });
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: r.status, body: text };
  }
}

async function sqlSearch(server: ServerProcess, body: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const r = await server.fetch('/api/default/_search', {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`_search HTTP ${r.status}: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { hits: Record<string, unknown>[] }).hits;
}

/** Spans in a Tempo trace-by-id answer (v1 `batches` or v2 `trace.resourceSpans`). */
function tempoSpanCount(body: unknown): number {
  const b = body as { batches?: unknown[]; trace?: { resourceSpans?: unknown[] }; resourceSpans?: unknown[] };
  const rs = (b.batches ?? b.trace?.resourceSpans ?? b.resourceSpans ?? []) as {
    scopeSpans?: { spans?: unknown[] }[];
    instrumentationLibrarySpans?: { spans?: unknown[] }[];
  }[];
  let n = 0;
  for (const r of rs) for (const s of r.scopeSpans ?? r.instrumentationLibrarySpans ?? []) n += s.spans?.length ?? 0;
  return n;
}

/** Trace by id through the Tempo API, or the probe's status when it does not answer a stored trace. */
async function tempoTraceById(server: ServerProcess, w: TraceWorkload): Promise<((id: string) => Promise<number>) | number> {
  const probe = await getJson(server, `/api/traces/${w.traceIds[0]}`);
  if (probe.status !== 200) return probe.status;
  return async (id) => {
    const r = await getJson(server, `/api/traces/${id}`);
    if (r.status !== 200) throw new Error(`/api/traces/${id}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    return tempoSpanCount(r.body);
  };
}

const sqlTraceById = async (server: ServerProcess, id: string): Promise<number> =>
  (await sqlSearch(server, { sql: `SELECT * FROM traces."default" WHERE trace_id = '${id}'`, size: 1000 })).length;

/** Tempo search (traces answered), or null when the route is not there (an invalid query gets 404, not 400). */
async function tempoSearch(server: ServerProcess, w: TraceWorkload): Promise<((q: string, limit: number) => Promise<number>) | null> {
  const range = `start=${w.startNs / 1_000_000_000n}&end=${w.endNs / 1_000_000_000n + 1n}`;
  const probe = await getJson(server, `/api/search?q=${encodeURIComponent('{')}&${range}`);
  if (probe.status === 404) return null;
  return async (q, limit) => {
    const r = await getJson(server, `/api/search?${new URLSearchParams({ q, limit: String(limit) }).toString()}&${range}`);
    if (r.status !== 200) throw new Error(`HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
    return ((r.body as { traces?: unknown[] }).traces ?? []).length;
  };
}

/**
 * The traces a Tempo search would list, through SQL: distinct matching trace ids, newest first by
 * their first matching span (Tempo reads matching traces whole; this does not).
 */
async function sqlTraceSearch(server: ServerProcess, w: TraceWorkload, where: string, limit: number): Promise<number> {
  return (
    await sqlSearch(server, {
      sql: `SELECT trace_id, min(_timestamp) AS start_ns FROM traces."default" WHERE ${where} GROUP BY trace_id ORDER BY start_ns DESC LIMIT ${limit}`,
      start_time: String(w.startNs),
      end_time: String(w.endNs),
    })
  ).length;
}

/** p50/p99 of `n` lookups of random trace ids (seeded), each checked, and the server's CPU-ms per lookup. */
async function lookups(pid: number, w: TraceWorkload, n: number, byId: (id: string) => Promise<number>): Promise<string> {
  const rand = seededRandom(7);
  const times: number[] = [];
  let wrong = 0;
  let error = '';
  const cpu0 = cpuSeconds(pid);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * w.traces);
    const s = performance.now();
    try {
      if ((await byId(w.traceIds[k]!)) !== w.spanCounts[k]) wrong++;
    } catch (e) {
      error = (e as Error).message.slice(0, 200);
      break;
    }
    times.push(performance.now() - s);
  }
  if (error) return `failed after ${times.length} lookups: ${error}`;
  const cpuMs = ((cpuSeconds(pid) - cpu0) * 1000) / n;
  times.sort((a, b) => a - b);
  return `p50 ${fmtMs(quantile(times, 0.5))} ms / p99 ${fmtMs(quantile(times, 0.99))} ms / max ${fmtMs(times[times.length - 1]!)} ms over ${n} random ids, ${fmtMs(cpuMs)} server CPU-ms each (${wrong ? `${wrong} WRONG span counts` : 'every span count right'})`;
}

/** Median of `runs` timed searches after a warm-up whose answer is checked; a failed warm-up ends it. */
async function timedSearch(runs: number, truth: number, all: number, call: () => Promise<number>, unit = 'traces'): Promise<string> {
  let got: number;
  try {
    got = await call();
  } catch (e) {
    return `failed: ${(e as Error).message.slice(0, 200)}`;
  }
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await call();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return `median ${fmtMs(quantile(t, 0.5))} ms of ${runs} (${fmtInt(got)} ${unit}; ${got === truth ? 'right' : `WRONG, expected ${fmtInt(truth)}`}; ${fmtInt(all)} ${unit === 'traces' ? 'traces match' : unit} in all)`;
}

const spansRead = async (server: ServerProcess): Promise<number> =>
  Number(/^molesignal_trace_spans_read_total (\d+)$/m.exec(await (await server.fetch('/metrics')).text())?.[1] ?? NaN);

/**
 * An API call timed as timedSearch does; `count` reads the answer's figure (checked against
 * `truth`); reports the spans the warm-up call read into memory (molesignal_trace_spans_read_total)
 * and the server's peak RSS before and after the calls.
 */
async function timedApi(
  server: ServerProcess,
  runs: number,
  path: string,
  truth: number,
  count: (body: unknown) => number,
  unit: string,
): Promise<string> {
  const pid = server.proc.pid!;
  const rss0 = peakRss(pid);
  const before = await spansRead(server);
  let read = NaN;
  const r = await timedSearch(
    runs,
    truth,
    truth,
    async () => {
      const res = await getJson(server, path);
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
      if (Number.isNaN(read)) read = (await spansRead(server)) - before;
      return count(res.body);
    },
    unit,
  );
  return `${r}; ${fmtInt(read)} spans read into memory; peak RSS ${fmtMiB(rss0)} before, ${fmtMiB(peakRss(pid))} after`;
}

export async function run(args: Record<string, string>): Promise<BenchResult> {
  const want = Number(args.spans ?? 1_000_000);
  const lanes = Number(args.lanes ?? 4);
  const nLookups = Number(args.lookups ?? 1000);
  const runs = Number(args.runs ?? 5);
  const loadAverage = loadavg().map((x) => x.toFixed(2)).join(' ');
  const env: Record<string, string> = {};
  for (const kv of (args.env ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (k && v !== undefined) env[k] = v;
  }

  process.stderr.write(`  generating ${fmtInt(want)} spans … `);
  const g0 = performance.now();
  const w = generateTraceWorkload({
    spans: want,
    seed: Number(args.seed ?? 42),
    batch: Number(args.batch ?? 1000),
    endMs: Date.now(),
    windowMs: 2 * 3600_000,
  });
  process.stderr.write(
    `${((performance.now() - g0) / 1000).toFixed(1)} s: ${fmtInt(w.spans)} spans in ${fmtInt(w.traces)} traces, ${w.requests.length} requests, ${(w.wireBytes / 1e6).toFixed(1)} MB on the wire\n`,
  );

  let server = await startServer({ env });
  const figures: Record<string, string> = {};
  const notes: string[] = [];
  try {
    let pid = server.proc.pid!;
    const { sentMs, queryableMs, cpu } = await sendUntilQueryable({
      url: server.url,
      pid,
      path: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf', authorization: ROOT_AUTH },
      // request i goes to lane i mod lanes: each lane sends its part in time order
      lanes: Array.from({ length: lanes }, (_, k) => w.requests.filter((_r, i) => i % lanes === k)),
      count: async () => Number((await server.search('SELECT count(*) AS c FROM traces."default"')).hits[0]!.c),
      expected: w.spans,
      what: 'spans',
    });
    const rssIngest = peakRss(pid);
    const rate = w.spans / (queryableMs / 1000);
    figures['spans/s until queryable (target ≥ 100,000)'] =
      `${fmtInt(rate)} (${(queryableMs / 1000).toFixed(1)} s; send-only ${fmtInt(w.spans / (sentMs / 1000))}/s; ${(w.wireBytes / 1e6 / (queryableMs / 1000)).toFixed(1)} MB/s protobuf)`;
    figures['server CPU-s / spans per CPU-s'] = `${cpu.toFixed(1)} s / ${fmtInt(w.spans / Math.max(cpu, 0.01))}`;

    const f = await server.fetch('/api/default/streams/default/_flush?type=traces', { method: 'POST' });
    const flushed = await f.text();
    if (!f.ok) throw new Error(`flush failed ${f.status}: ${flushed}`);
    const d = diskUse(server.dataDir);
    figures['bytes/span on disk'] =
      `${((d.parquet + d.sidecars) / w.spans).toFixed(1)} (Parquet incl. its trace_id bloom filters ${(d.parquet / w.spans).toFixed(1)} + sidecars ${(d.sidecars / w.spans).toFixed(2)}; ${d.files} Parquet files, ${(d.parquet / 1e6).toFixed(1)} MB; ${(w.wireBytes / Math.max(1, d.parquet + d.sidecars)).toFixed(1)}x smaller than the protobuf; catalog ${(d.catalog / 1e6).toFixed(2)} MB and WAL/rest ${(d.rest / 1e6).toFixed(1)} MB not counted; flush answered ${flushed})`;

    // trace by id: random ids of the workload, each answer checked against the trace's span count
    const note = (k: string, v: string) => {
      figures[k] = v;
      process.stderr.write(`  ${k}: ${v}\n`);
    };
    const tempoById = await tempoTraceById(server, w);
    note(
      'trace by id, Tempo API GET /api/traces/<id> (target p99 < 50 ms)',
      typeof tempoById === 'number'
        ? `not built yet (a stored trace gets HTTP ${tempoById})`
        : await lookups(pid, w, nLookups, tempoById),
    );
    const sqlLookups = typeof tempoById === 'number' ? nLookups : Math.min(nLookups, 200);
    note(
      `trace by id, SQL \`SELECT * … WHERE trace_id = '…'\` via _search, no time range`,
      await lookups(pid, w, sqlLookups, (id) => sqlTraceById(server, id)),
    );
    const tempo = args['tempo-search'] === '0' ? null : await tempoSearch(server, w);
    if (!tempo)
      note('search, Tempo API GET /api/search?q=', args['tempo-search'] === '0' ? 'not run (--tempo-search 0)' : 'not built yet (the route answers 404)');
    const died = () => {
      if (server.running) return '';
      const fatal = server.log.split('\n').find((l) => /FATAL|out of memory/i.test(l));
      return `the server exited (${server.exitCode ?? server.exitSignal}${fatal ? `: ${fatal.trim().slice(0, 120)}` : ''})`;
    };
    let tempoDown = '';
    for (const q of SEARCHES) {
      const truth = Math.min(20, w.truth[q.id]!);
      if (tempo && tempoDown) note(`search ${q.id}, Tempo API: \`${q.traceql}\``, `not run: ${tempoDown}`);
      else if (tempo) {
        const r = await timedSearch(runs, truth, w.truth[q.id]!, () => tempo(q.traceql, 20));
        note(`search ${q.id}, Tempo API: \`${q.traceql}\``, r);
        // a request that failed may have ended the server: let its exit be seen
        if (r.startsWith('failed')) await server.waitExit(10_000).catch(() => undefined);
      }
      if (died()) {
        // the SQL searches need a server: start it again on the same data (the flushed files)
        note(`search ${q.id}, Tempo API: \`${q.traceql}\``, `failed: ${died()}`);
        tempoDown = `the server exited during the Tempo search "${q.id}"`;
        server = await startServer({ env, dataDir: server.dataDir });
        pid = server.proc.pid!;
        notes.push(`the server was restarted on its data after the Tempo search "${q.id}" ended it; its peak RSS is the restarted process's`);
      }
      note(`search ${q.id}, SQL: \`${q.sqlWhere}\``, await timedSearch(runs, truth, w.truth[q.id]!, () => sqlTraceSearch(server, w, q.sqlWhere, 20)));
    }
    // Jaeger and Zipkin query APIs as Grafana's Jaeger data source calls them: a search with no
    // service over the whole window, and dependencies over a day
    const jaegerRange = `start=${w.startNs / 1000n}&end=${w.endNs / 1000n + 1n}`;
    note(
      'Jaeger search, GET /jaeger/api/traces (no service, whole window, limit 20)',
      await timedApi(
        server,
        runs,
        `/jaeger/api/traces?${jaegerRange}&limit=20`,
        Math.min(20, w.traces),
        (b) => ((b as { data?: unknown[] }).data ?? []).length,
        'traces',
      ),
    );
    const callCount = (b: unknown) =>
      ((Array.isArray(b) ? b : ((b as { data?: unknown[] }).data ?? [])) as { callCount: number }[]).reduce(
        (n, d) => n + d.callCount,
        0,
      );
    // endTs: the generator's traces may start after now (it makes more traces than it planned
    // for its window), so the default window (the day before now) would miss some
    note(
      'Jaeger dependencies, GET /jaeger/api/dependencies (the day before the last span)',
      await timedApi(
        server,
        runs,
        `/jaeger/api/dependencies?endTs=${w.endNs / 1_000_000n + 1n}&lookback=86400000`,
        w.calls,
        callCount,
        'calls',
      ),
    );
    figures['peak RSS ingest / after queries'] = `${fmtMiB(rssIngest)} / ${fmtMiB(peakRss(pid))}`;
    if (args.keep === '1') process.stderr.write(`  data dir kept: ${server.dataDir}\n`);
  } finally {
    await server.stop().catch(() => server.kill());
    if (args.keep !== '1') await removeDir(server.dataDir);
  }
  return {
    title: 'traces: OTLP/HTTP protobuf span ingest, trace by id, search',
    section: 'Traces',
    workload: `${fmtInt(w.spans)} spans in ${fmtInt(w.traces)} traces (13–47 spans each, 8 services, ${((100 * w.errorSpans) / w.spans).toFixed(1)} % error spans; seed ${args.seed ?? 42}) over a 2 h window ending now, ${w.requests.length} OTLP/HTTP protobuf requests of ~${args.batch ?? 1000} spans (${fmtInt(w.wireBytes / w.spans)} B per span on the wire), ${lanes} concurrent keep-alive lanes, pre-encoded; default server settings${Object.keys(env).length ? ` plus ${JSON.stringify(env)}` : ''}; load average before the run ${loadAverage}`,
    figures,
    ...(notes.length ? { notes: notes.join('; ') } : {}),
  };
}
