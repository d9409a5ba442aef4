/**
 * The Loki workload of issue 5 (done-when 5) against MoleSignal, beside the figures Grafana Loki
 * 3.4.6 gave on this machine (../shared/notes/performance.md, "Logs — Loki v3.4.6"):
 *
 * 2,000,000 lines (25 % nginx access, 75 % JSON app logs), 32 streams labelled job/host/service/env,
 * 2 h window ending now (bench/lib/loki-logs-data.ts, seeded), pushed as Loki JSON in batches of
 * 5,000 over 4 concurrent lanes, each lane owning 8 streams in time order; payloads pre-encoded
 * before timing. Measures lines/s until a count query returns every line, lines per server
 * CPU-second, peak RSS, bytes on disk per line after a flush, then the median (of --runs, after 1
 * warm-up) of the performance note's six LogQL queries through /loki/api/v1/query_range (its
 * range and steps) and a rare-term search (a trace id that occurs once) through LogQL and SQL.
 * A query that fails is reported as failed; the suite goes on.
 *
 * Flags: --lines N (2000000; a multiple of 32) --seed N (42) --batch N (5000) --lanes N (4)
 *        --runs N (5) --env KEY=VALUE,... (server settings) --queries 0 (ingest only)
 */
import { ROOT_AUTH, removeDir, startServer } from '../../test/harness.ts';
import { generateLogsWorkload, informationBytesPerLine, type LogsWorkload } from '../lib/loki-logs-data.ts';
import { benchNodeArgs, cpuSeconds, diskUse, peakRss, sendUntilQueryable } from '../lib/server-client.ts';
import type { BenchResult } from '../run.ts';
import {
  fmtInt,
  fmtMiB,
  fmtMs,
  lokiQuery,
  measure,
  searchJson,
  timed,
  type Timed,
} from '../lib/query-timing.ts';

/** Loki 3.4.6 on this workload and machine (performance.md, final run). */
const LOKI = {
  linesPerSec: 155_500,
  linesPerCpuSec: 82_000,
  bytesPerLine: 55.6,
  rssIngestMiB: 536,
  rssAfterQueriesMiB: 735,
};

interface LogQuery {
  id: string;
  query: string;
  /** query_range step in seconds; log queries (no step) have limit instead */
  step?: number;
  limit?: number;
  lokiMs?: number;
  /** what the answer must be: total of all points, number of series, or number of lines */
  truth: (w: LogsWorkload) => { kind: 'sum' | 'series' | 'lines'; value: number };
}

const QUERIES: LogQuery[] = [
  {
    id: 'count GET [1m]',
    query: 'sum(count_over_time({job="nginx"} |= "GET" [1m]))',
    step: 60,
    lokiMs: 251,
    truth: (w) => ({ kind: 'sum', value: w.truth.nginxGet }),
  },
  {
    id: 'search "error" limit 100',
    query: '{job=~"nginx|app"} |= "error"',
    limit: 100,
    lokiMs: 53,
    truth: () => ({ kind: 'lines', value: 100 }),
  },
  {
    id: 'count "error" [1h]',
    query: 'sum(count_over_time({job=~"nginx|app"} |= "error" [1h]))',
    step: 3600,
    lokiMs: 1999,
    truth: (w) => ({ kind: 'sum', value: w.truth.error }),
  },
  {
    id: 'json sum by status [5m]',
    query: 'sum by (status) (count_over_time({job="app"} | json | __error__="" [5m]))',
    step: 300,
    lokiMs: 2066,
    truth: (w) => ({ kind: 'sum', value: w.truth.appLines }),
  },
  {
    id: 'regexp 5xx [5m]',
    query: 'sum(count_over_time({job="nginx"} |~ "\\" 5[0-9][0-9] " [5m]))',
    step: 300,
    lokiMs: 159,
    truth: (w) => ({ kind: 'sum', value: w.truth.nginx5xx }),
  },
  {
    id: 'quantile unwrap by service [5m]',
    query:
      'quantile_over_time(0.99, {job="app"} | json | unwrap duration_ms | __error__="" [5m]) by (service)',
    step: 300,
    lokiMs: 2314,
    truth: () => ({ kind: 'series', value: 6 }),
  },
];

export async function run(args: Record<string, string>): Promise<BenchResult> {
  const lines = Number(args.lines ?? 2_000_000);
  const runs = Number(args.runs ?? 5);
  const withQueries = args.queries !== '0';
  const env: Record<string, string> = {};
  for (const kv of (args.env ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (k && v !== undefined) env[k] = v;
  }

  process.stderr.write(`  generating ${fmtInt(lines)} lines … `);
  const g0 = performance.now();
  const w = generateLogsWorkload({
    lines,
    seed: Number(args.seed ?? 42),
    batch: Number(args.batch ?? 5000),
    lanes: Number(args.lanes ?? 4),
    endMs: Date.now(),
    windowMs: 2 * 3600_000,
  });
  process.stderr.write(
    `${((performance.now() - g0) / 1000).toFixed(1)} s: ${(w.rawBytes / 1e6).toFixed(1)} MB raw, ${w.lanes.reduce((n, l) => n + l.length, 0)} pushes, ${(w.wireBytes / 1e6).toFixed(1)} MB on the wire\n`,
  );

  const server = await startServer({ env, ...benchNodeArgs() });
  const figures: Record<string, string> = {};
  const rows: string[][] = [];
  const row = (metric: string, loki: string, ours: string, ratio: string, check = '') =>
    rows.push([metric, loki, ours, ratio, check]);
  try {
    const pid = server.proc.pid!;
    const cpuStart = cpuSeconds(pid);
    const { sentMs, queryableMs, cpu } = await sendUntilQueryable({
      url: server.url,
      pid,
      path: '/loki/api/v1/push',
      headers: { 'content-type': 'application/json', authorization: ROOT_AUTH },
      lanes: w.lanes,
      count: async () => Number((await server.search('SELECT count(*) AS c FROM logs."default"')).hits[0]!.c),
      expected: w.lines,
      what: 'lines',
    });
    const rssIngest = peakRss(pid);
    const rate = w.lines / (queryableMs / 1000);
    const perCpu = w.lines / Math.max(cpu, 0.01);
    figures['lines/s until queryable'] =
      `${fmtInt(rate)} (${(queryableMs / 1000).toFixed(1)} s; send-only ${fmtInt(w.lines / (sentMs / 1000))}/s; ${(w.rawBytes / 1e6 / (queryableMs / 1000)).toFixed(1)} MB/s raw)`;
    figures['server CPU-s / lines per CPU-s'] = `${cpu.toFixed(1)} s / ${fmtInt(perCpu)}`;
    row(
      'lines/s until queryable',
      fmtInt(LOKI.linesPerSec),
      fmtInt(rate),
      `${(rate / LOKI.linesPerSec).toFixed(2)}x`,
    );
    row(
      'lines per server CPU-s',
      fmtInt(LOKI.linesPerCpuSec),
      fmtInt(perCpu),
      `${(perCpu / LOKI.linesPerCpuSec).toFixed(2)}x`,
    );

    const f = await server.fetch('/api/default/streams/default/_flush?type=logs', { method: 'POST' });
    const flushed = await f.text();
    if (!f.ok) throw new Error(`flush failed ${f.status}: ${flushed}`);
    // the rows still in memtables when the count was complete are written to Parquet only now
    const cpuFlushed = cpuSeconds(pid) - cpuStart;
    figures['server CPU-s / lines per CPU-s incl. the final flush'] =
      `${cpuFlushed.toFixed(1)} s / ${fmtInt(w.lines / Math.max(cpuFlushed, 0.01))}`;
    const d = diskUse(server.dataDir);
    const perLine = (d.parquet + d.sidecars) / w.lines;
    figures['bytes/line on disk'] =
      `${perLine.toFixed(1)} (Parquet ${(d.parquet / w.lines).toFixed(1)} + token-filter sidecars ${(d.sidecars / w.lines).toFixed(2)}; ${d.files} Parquet files, ${(d.parquet / 1e6).toFixed(1)} MB, ${(w.rawBytes / (d.parquet + d.sidecars)).toFixed(1)}x compression of the raw lines; catalog ${(d.catalog / 1e6).toFixed(2)} MB and WAL/rest of the data dir ${(d.rest / 1e6).toFixed(1)} MB not counted; flush answered ${flushed})`;
    figures['information in the lines (lower bound for any lossless store)'] =
      `${informationBytesPerLine(w.options).toFixed(1)} bytes/line (entropy of the generator's random choices: ids, numbers, picks, ns timestamps)`;
    row(
      'bytes/line on disk',
      `${LOKI.bytesPerLine} (chunks, index excluded)`,
      `${perLine.toFixed(1)} (Parquet + sidecars)`,
      `${(perLine / LOKI.bytesPerLine).toFixed(2)}x`,
    );

    if (withQueries) {
      const range = { start: String(w.startNs), end: String(w.endNs) };
      for (const q of QUERIES) {
        process.stderr.write(`  ${q.id} … `);
        const truth = q.truth(w);
        const params: Record<string, string> = { query: q.query, ...range };
        if (q.step) params.step = String(q.step);
        if (q.limit) params.limit = String(q.limit);
        const t = await timed(
          runs,
          () => lokiQuery(server, '/loki/api/v1/query_range', params),
          (a) => measure(a, truth.kind),
        );
        reportQuery(q.id, q.lokiMs, t, truth, figures, row);
      }
      // The rare term: a trace id that occurs once, over the whole range, through LogQL and SQL.
      const id = w.rareTraceId;
      process.stderr.write(`  rare term (LogQL) … `);
      const lq = await timed(
        runs,
        () =>
          lokiQuery(server, '/loki/api/v1/query_range', {
            query: `{job=~"nginx|app"} |= "${id}"`,
            limit: '100',
            ...range,
          }),
        (a) => measure(a, 'lines'),
      );
      reportQuery(
        `rare term |= "<trace id>" (LogQL)`,
        undefined,
        lq,
        { kind: 'lines', value: w.truth.rareTraceIdLines },
        figures,
        row,
      );
      // SQL: a LIKE scans every file; `contains` lets the token filters skip files
      const sqlSearches: [string, Record<string, unknown>][] = [
        [
          'rare term LIKE (SQL _search)',
          { sql: `SELECT _timestamp, body FROM logs."default" WHERE body LIKE '%${id}%'` },
        ],
        [
          'rare term contains (SQL _search, token filters)',
          { sql: 'SELECT _timestamp, body FROM logs."default"', contains: id },
        ],
      ];
      for (const [label, body] of sqlSearches) {
        process.stderr.write(`  ${label} … `);
        let scanned = '';
        const sq = await timed(
          runs,
          () =>
            searchJson(server, { ...body, start_time: String(w.startNs), end_time: String(w.endNs + 1n) }),
          (a) => {
            scanned = `files_scanned ${a.stats.files_scanned ?? '?'} of ${d.files}`;
            return a.hits.length;
          },
        );
        sq.detail = scanned;
        reportQuery(label, undefined, sq, { kind: 'lines', value: w.truth.rareTraceIdLines }, figures, row);
      }
      const rssAfter = peakRss(pid);
      figures['peak RSS ingest / after queries'] = `${fmtMiB(rssIngest)} / ${fmtMiB(rssAfter)}`;
      row(
        'peak RSS ingest / after queries',
        `${LOKI.rssIngestMiB} / ${LOKI.rssAfterQueriesMiB} MiB`,
        `${fmtMiB(rssIngest)} / ${fmtMiB(rssAfter)}`,
        `${(rssIngest / 2 ** 20 / LOKI.rssIngestMiB).toFixed(2)}x / ${(rssAfter / 2 ** 20 / LOKI.rssAfterQueriesMiB).toFixed(2)}x`,
      );
    } else {
      figures['peak RSS ingest'] = fmtMiB(rssIngest);
      row(
        'peak RSS ingest',
        `${LOKI.rssIngestMiB} MiB`,
        fmtMiB(rssIngest),
        `${(rssIngest / 2 ** 20 / LOKI.rssIngestMiB).toFixed(2)}x`,
      );
    }
  } finally {
    await server.stop().catch(() => server.kill());
    await removeDir(server.dataDir);
  }
  const table = [
    '| metric | Loki 3.4.6 (performance.md) | MoleSignal | MoleSignal ÷ Loki | answer |',
    '|---|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
  return {
    title: `logs: Loki push JSON ingest, storage and LogQL vs Loki 3.4.6${withQueries ? '' : ' (ingest only)'}`,
    section: 'Logs',
    workload: `${fmtInt(w.lines)} lines (25 % nginx access, 75 % JSON app logs: level, msg, trace_id, span_id on 80 %, user_id, method, path, status, duration_ms), ${(w.rawBytes / 1e6).toFixed(1)} MB raw, 32 streams (job/host/service/env), 2 h window ending now, seed ${w.options.seed}; ${w.lanes.reduce((n, l) => n + l.length, 0)} Loki push JSON requests of ${fmtInt(w.options.batch)} lines (${(w.wireBytes / 1e6).toFixed(1)} MB on the wire), ${w.lanes.length} concurrent lanes each owning 8 streams in time order, pre-encoded before timing; queries: query_range over the whole window, median of ${runs} runs after 1 warm-up${args.env ? `; server settings ${args.env}` : ''}`,
    figures,
    table,
    notes:
      'Loki figures: ../shared/notes/performance.md (final run, same workload shape, same machine, not re-run). "Until queryable" = until SQL count(*) over the logs stream returns every line. Bytes on disk = Parquet files under objects/ plus their .bloom token-filter sidecars after POST _flush (catalog and WAL excluded, as Loki\'s figure excludes its index and WAL). Client and server share the 2 cores.',
  };
}

function reportQuery(
  id: string,
  lokiMs: number | undefined,
  t: Timed,
  truth: { kind: string; value: number },
  figures: Record<string, string>,
  row: (metric: string, loki: string, ours: string, ratio: string, check?: string) => void,
): void {
  const check =
    t.got === undefined
      ? ''
      : t.got === truth.value
        ? `${fmtInt(t.got)} ${truth.kind} = truth`
        : `${fmtInt(t.got)} ${truth.kind} ≠ truth ${fmtInt(truth.value)}`;
  const ours = t.error ? `failed: ${t.error}` : `${fmtMs(t.medianMs)} ms`;
  figures[`${id} median ms`] =
    `${ours}${t.error ? '' : ` (${t.runs} runs; ${check}${t.detail ? `; ${t.detail}` : ''})`}${lokiMs ? `; Loki ${lokiMs} ms` : ''}`;
  process.stderr.write(`${figures[`${id} median ms`]}\n`);
  row(
    `${id} (median ms)`,
    lokiMs ? String(lokiMs) : '—',
    t.error ? 'failed' : fmtMs(t.medianMs),
    lokiMs && !t.error ? `${(t.medianMs / lokiMs).toFixed(2)}x` : '—',
    t.error ? t.error.slice(0, 80) : `${check}${t.detail ? `; ${t.detail}` : ''}`,
  );
}
