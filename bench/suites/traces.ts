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
 * when the server answers it (probed once), else through SQL via `POST /api/default/_search`
 * (`WHERE trace_id = '…'` without a time range, as a trace-by-id lookup has none), and the Tempo
 * rows say "not built yet".
 *
 * Flags: --spans N (1000000) --seed N (42) --batch N (1000) --lanes N (4) --lookups N (1000)
 *        --runs N (5) --env KEY=VALUE,... (server settings) --keep 1 (print the data dir, keep it)
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

interface Lookup {
  via: 'Tempo API' | 'SQL';
  /** resolves to the number of spans found */
  byId: (id: string) => Promise<number>;
}

async function traceByIdClient(server: ServerProcess, w: TraceWorkload): Promise<Lookup> {
  const probe = await getJson(server, `/api/traces/${w.traceIds[0]}`).catch(() => ({ status: 0, body: null }));
  if (probe.status === 200 && tempoSpanCount(probe.body) > 0)
    return {
      via: 'Tempo API',
      byId: async (id) => {
        const r = await getJson(server, `/api/traces/${id}`);
        if (r.status !== 200) throw new Error(`/api/traces/${id}: HTTP ${r.status}`);
        return tempoSpanCount(r.body);
      },
    };
  return {
    via: 'SQL',
    byId: async (id) =>
      (await sqlSearch(server, { sql: `SELECT * FROM traces."default" WHERE trace_id = '${id}'`, size: 1000 })).length,
  };
}

interface SearchClient {
  via: 'Tempo API' | 'SQL';
  /** resolves to the number of traces answered */
  search: (traceql: string, sqlWhere: string, limit: number) => Promise<number>;
}

async function searchClient(server: ServerProcess, w: TraceWorkload): Promise<SearchClient> {
  const range = `start=${w.startNs / 1_000_000_000n}&end=${w.endNs / 1_000_000_000n + 1n}`;
  const tempo = (q: string, limit: number) =>
    getJson(server, `/api/search?${new URLSearchParams({ q, limit: String(limit) }).toString()}&${range}`);
  const probe = await tempo(SEARCHES[0]!.traceql, 20).catch(() => ({ status: 0, body: null }));
  if (probe.status === 200 && Array.isArray((probe.body as { traces?: unknown }).traces))
    return {
      via: 'Tempo API',
      search: async (q, _where, limit) => {
        const r = await tempo(q, limit);
        if (r.status !== 200) throw new Error(`/api/search: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        return ((r.body as { traces: unknown[] }).traces ?? []).length;
      },
    };
  return {
    via: 'SQL',
    // the traces a Tempo search would list: distinct matching trace ids, with their root's span
    // start and the trace's duration (the span reader reads matching traces whole; this does not)
    search: async (_q, where, limit) =>
      (
        await sqlSearch(server, {
          sql: `SELECT trace_id, min(_timestamp) AS start_ns, max(end_timestamp) - min(_timestamp) AS duration_ns FROM traces."default" WHERE ${where} GROUP BY trace_id ORDER BY start_ns DESC LIMIT ${limit}`,
          start_time: String(w.startNs),
          end_time: String(w.endNs),
        })
      ).length,
  };
}

export async function run(args: Record<string, string>): Promise<BenchResult> {
  const want = Number(args.spans ?? 1_000_000);
  const lanes = Number(args.lanes ?? 4);
  const lookups = Number(args.lookups ?? 1000);
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

  const server = await startServer({ env });
  const figures: Record<string, string> = {};
  const notes: string[] = [];
  try {
    const pid = server.proc.pid!;
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
    const byId = await traceByIdClient(server, w);
    const rand = seededRandom(7);
    const times: number[] = [];
    let wrong = 0;
    const lookupCpu0 = cpuSeconds(pid);
    process.stderr.write(`  trace by id (${byId.via}) …`);
    for (let i = 0; i < lookups; i++) {
      const k = Math.floor(rand() * w.traces);
      const s = performance.now();
      const n = await byId.byId(w.traceIds[k]!);
      times.push(performance.now() - s);
      if (n !== w.spanCounts[k]) wrong++;
    }
    const lookupCpuMs = ((cpuSeconds(pid) - lookupCpu0) * 1000) / lookups;
    times.sort((a, b) => a - b);
    const byIdFig = `p50 ${fmtMs(quantile(times, 0.5))} ms / p99 ${fmtMs(quantile(times, 0.99))} ms / max ${fmtMs(times[times.length - 1]!)} ms over ${lookups} random ids, ${fmtMs(lookupCpuMs)} server CPU-ms each (${wrong ? `${wrong} WRONG span counts` : 'every span count right'})`;
    process.stderr.write(` ${byIdFig}\n`);
    const idKey = 'trace by id, Tempo API GET /api/traces/<id> (target p99 < 50 ms)';
    const sqlKey = `trace by id, SQL \`WHERE trace_id = '…'\` via _search, no time range`;
    if (byId.via === 'Tempo API') figures[idKey] = byIdFig;
    else {
      figures[idKey] = 'not built yet (route does not answer; measured through SQL instead)';
      figures[sqlKey] = byIdFig;
    }

    const search = await searchClient(server, w);
    if (search.via === 'SQL') figures['search, Tempo API GET /api/search?q='] = 'not built yet (measured through SQL: distinct trace ids of matching spans, newest 20)';
    for (const q of SEARCHES) {
      const truth = Math.min(20, w.truth[q.id]!);
      const t: number[] = [];
      let got = -1;
      let error = '';
      try {
        got = await search.search(q.traceql, q.sqlWhere, 20);
        for (let i = 0; i < runs; i++) {
          const s = performance.now();
          await search.search(q.traceql, q.sqlWhere, 20);
          t.push(performance.now() - s);
        }
      } catch (e) {
        error = (e as Error).message.slice(0, 200);
      }
      t.sort((a, b) => a - b);
      const label = search.via === 'Tempo API' ? `search ${q.id}: \`${q.traceql}\`` : `search ${q.id} (SQL: \`${q.sqlWhere}\`)`;
      figures[label] = error
        ? `failed: ${error}`
        : `median ${fmtMs(quantile(t, 0.5))} ms of ${runs} (${got} traces; ${got === truth ? 'right' : `WRONG, expected ${truth}`}; ${fmtInt(w.truth[q.id]!)} traces match in all)`;
      process.stderr.write(`  ${label}: ${figures[label]}\n`);
    }
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
