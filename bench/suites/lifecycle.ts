/**
 * Storage lifecycle (issue 7, done-when 6): query latency on the same data before and after
 * compaction, and cold (S3, empty disk cache) vs warm (disk cache) query latency.
 *
 * Workload: the Loki logs set of `bench -- logs` (bench/lib/loki-logs-data.ts, seeded), smaller:
 * --lines (200,000) lines in --batches (1,000) Loki JSON pushes over one lane, each push followed by
 * a flush of the stream, so the store holds about one small Parquet file per push — what a
 * low-volume stream with frequent flushes leaves behind.
 *
 * 1. Local disk + SQLite: queries (median of --runs after one warm-up), `POST /api/default/_compact`,
 *    the same queries again; answers must be identical.
 * 2. Ceph RADOS Gateway (test/kits/rgw.ts, Debian packages) + `storage.backend=s3`: the same pushes
 *    (in batches of 5,000, one flush), a compaction, then per query: a restart with an empty disk
 *    cache and one timed run (cold), then the median of --runs (warm, from the disk cache).
 *
 * Flags: --lines N (200000; a multiple of 32) --batches N (1000) --runs N (5) --seed N (42)
 *        --s3 0 (skip part 2)
 */
import { rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { ROOT_AUTH, removeDir, startServer, tempDir, type ServerProcess } from '../../test/harness.ts';
import { rgwUnavailable, startRgw } from '../../test/kits/rgw.ts';
import { generateLogsWorkload, type LogsWorkload } from '../lib/loki-logs-data.ts';
import { diskUse, postRequest } from '../lib/server-client.ts';
import { fmtInt, fmtMs, lokiQuery, measure, searchJson, timed, type Timed } from '../lib/query-timing.ts';
import type { BenchResult } from '../run.ts';

interface Query {
  id: string;
  /** one answer, reduced to a comparable string */
  ask: (s: ServerProcess, w: LogsWorkload) => Promise<string>;
}

const range = (w: LogsWorkload) => ({ start: String(w.startNs), end: String(w.endNs) });

const logql = (
  id: string,
  query: string,
  extra: Record<string, string>,
  kind: 'sum' | 'lines' | 'series',
): Query => ({
  id,
  ask: async (s, w) => {
    const a = await lokiQuery(s, '/loki/api/v1/query_range', { query, ...range(w), ...extra });
    return `${measure(a, kind)} ${kind}`;
  },
});

const QUERIES: Query[] = [
  logql('count GET [1m]', 'sum(count_over_time({job="nginx"} |= "GET" [1m]))', { step: '60' }, 'sum'),
  logql('search "error" limit 100', '{job=~"nginx|app"} |= "error"', { limit: '100' }, 'lines'),
  logql(
    'json sum by status [5m]',
    'sum by (status) (count_over_time({job="app"} | json | __error__="" [5m]))',
    { step: '300' },
    'sum',
  ),
  {
    id: 'rare trace id (LogQL)',
    ask: async (s, w) => {
      const a = await lokiQuery(s, '/loki/api/v1/query_range', {
        query: `{job=~"nginx|app"} |= "${w.rareTraceId}"`,
        limit: '100',
        ...range(w),
      });
      return `${measure(a, 'lines')} lines`;
    },
  },
  {
    id: 'SQL count by service',
    ask: async (s, w) => {
      const a = await searchJson(s, {
        sql: `SELECT "resource.service" AS service, count(*) AS n FROM logs."default" GROUP BY 1 ORDER BY 1`,
        start_time: String(w.startNs),
        end_time: String(w.endNs + 1n),
      });
      return JSON.stringify(a.hits);
    },
  },
];

async function push(
  s: ServerProcess,
  bodies: Uint8Array[],
  flushEach: boolean,
  progress: string,
): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(s.url);
  const headers = { 'content-type': 'application/json', authorization: ROOT_AUTH };
  try {
    for (let i = 0; i < bodies.length; i++) {
      await postRequest(agent, url, '/loki/api/v1/push', headers, bodies[i]!);
      if (flushEach) await flush(s);
      if (i % 50 === 0) process.stderr.write(`\r  ${progress}: ${i + 1} / ${bodies.length} pushes`);
    }
  } finally {
    agent.destroy();
  }
  if (!flushEach) await flush(s);
  process.stderr.write(`\r  ${progress}: ${bodies.length} / ${bodies.length} pushes\n`);
}

async function flush(s: ServerProcess): Promise<void> {
  const r = await s.fetch('/api/default/streams/default/_flush?type=logs', { method: 'POST' });
  if (!r.ok) throw new Error(`flush failed ${r.status}: ${await r.text()}`);
}

async function compact(s: ServerProcess): Promise<{ ms: number; answer: string }> {
  const t0 = performance.now();
  const r = await s.fetch('/api/default/_compact', { method: 'POST', body: '{}' });
  const text = await r.text();
  if (!r.ok) throw new Error(`_compact failed ${r.status}: ${text.slice(0, 300)}`);
  return { ms: performance.now() - t0, answer: text };
}

/** The logs stream's catalogued files and their bytes (objects awaiting deletion not counted). */
async function fileStats(s: ServerProcess): Promise<{ files: number; bytes: number }> {
  const r = await s.fetch('/api/default/streams');
  const body = (await r.json()) as {
    list: { stream_type: string; name: string; stats: { files: number; bytes: number } }[];
  };
  const st = body.list.find((x) => x.name === 'default' && x.stream_type === 'logs');
  return { files: Number(st?.stats.files ?? NaN), bytes: Number(st?.stats.bytes ?? NaN) };
}

/** Median timings of every query, with each query's first answer. */
async function timeAll(
  s: ServerProcess,
  w: LogsWorkload,
  runs: number,
): Promise<Map<string, { t: Timed; answer: string }>> {
  const out = new Map<string, { t: Timed; answer: string }>();
  for (const q of QUERIES) {
    let answer = '';
    const t = await timed(
      runs,
      () => q.ask(s, w),
      (a) => {
        answer = a;
        return 0;
      },
    );
    out.set(q.id, { t, answer });
    process.stderr.write(
      `  ${q.id}: ${t.error ? `failed: ${t.error}` : `${fmtMs(t.medianMs)} ms`} (${answer.slice(0, 60)})\n`,
    );
  }
  return out;
}

export async function run(args: Record<string, string>): Promise<BenchResult> {
  const lines = Number(args.lines ?? 200_000);
  const batches = Number(args.batches ?? 1000);
  const runs = Number(args.runs ?? 5);
  const seed = Number(args.seed ?? 42);
  const endMs = Date.now();
  const workload = (batch: number) =>
    generateLogsWorkload({ lines, seed, batch, lanes: 1, endMs, windowMs: 2 * 3600_000 });
  const small = workload(Math.max(1, Math.ceil(lines / batches)));
  const bodies = small.lanes[0]!;
  const figures: Record<string, string> = {};
  const rows: string[][] = [];
  const env = { MOLESIGNAL_COMPACTOR_ENABLED: 'false', MOLESIGNAL_MEMTABLE_MAX_AGE_MS: '3600000' };

  // 1. before and after compaction, local disk
  const local = await startServer({ env });
  let before: Map<string, { t: Timed; answer: string }>;
  let after: Map<string, { t: Timed; answer: string }>;
  try {
    await push(local, bodies, true, 'local');
    const statsBefore = await fileStats(local);
    const sidecarsBefore = diskUse(local.dataDir).sidecars;
    process.stderr.write(`  ${statsBefore.files} files before compaction; queries:\n`);
    before = await timeAll(local, small, runs);
    const c = await compact(local);
    const statsAfter = await fileStats(local);
    process.stderr.write(
      `  compacted in ${(c.ms / 1000).toFixed(1)} s: ${statsAfter.files} files; queries:\n`,
    );
    after = await timeAll(local, small, runs);
    figures['files before / after compaction'] =
      `${statsBefore.files} / ${statsAfter.files} (Parquet ${(statsBefore.bytes / 1e6).toFixed(2)} MB → ${(statsAfter.bytes / 1e6).toFixed(2)} MB as catalogued; token-filter sidecars before ${(sidecarsBefore / 1e6).toFixed(2)} MB; replaced objects are deleted after compactor.deleteGraceMs)`;
    figures['compaction (POST _compact)'] = `${(c.ms / 1000).toFixed(1)} s for ${fmtInt(lines)} lines`;
    for (const q of QUERIES) {
      const b = before.get(q.id)!;
      const a = after.get(q.id)!;
      const same =
        b.answer === a.answer
          ? 'same answer'
          : `ANSWERS DIFFER: ${b.answer.slice(0, 40)} vs ${a.answer.slice(0, 40)}`;
      rows.push([
        q.id,
        b.t.error ? 'failed' : fmtMs(b.t.medianMs),
        a.t.error ? 'failed' : fmtMs(a.t.medianMs),
        b.t.error || a.t.error ? '—' : `${(a.t.medianMs / b.t.medianMs).toFixed(2)}x`,
        same,
      ]);
    }
  } finally {
    await local.stop().catch(() => local.kill());
    await removeDir(local.dataDir);
  }
  const compactionTable = [
    '| query (local disk + SQLite) | before compaction ms | after ms | after ÷ before | answers |',
    '|---|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');

  // 2. cold (S3, empty cache) vs warm (disk cache)
  let s3Table = '';
  if (args.s3 !== '0') {
    const why = rgwUnavailable();
    if (why) {
      figures['S3 cold vs warm'] = `not run: ${why}`;
    } else {
      process.stderr.write('  starting Ceph RGW …\n');
      const rgw = await startRgw();
      const dataDir = await tempDir();
      const cacheDir = join(dataDir, 'cache');
      const s3env = {
        ...env,
        MOLESIGNAL_STORAGE_BACKEND: 's3',
        MOLESIGNAL_STORAGE_S3_ENDPOINT: rgw.endpoint,
        MOLESIGNAL_STORAGE_S3_REGION: rgw.region,
        MOLESIGNAL_STORAGE_S3_BUCKET: rgw.bucket,
        MOLESIGNAL_STORAGE_S3_FORCE_PATH_STYLE: 'true',
        MOLESIGNAL_STORAGE_S3_ACCESS_KEY_ID: rgw.accessKeyId,
        MOLESIGNAL_STORAGE_S3_SECRET_ACCESS_KEY: rgw.secretAccessKey,
        MOLESIGNAL_STORAGE_CACHE_DIR: cacheDir,
      };
      const s3rows: string[][] = [];
      try {
        const big = workload(5000);
        let s = await startServer({ dataDir, env: s3env });
        await push(s, big.lanes[0]!, false, 's3');
        await compact(s);
        const { files } = await fileStats(s);
        await s.stop();
        for (const q of QUERIES) {
          await rm(cacheDir, { recursive: true, force: true });
          s = await startServer({ dataDir, env: s3env });
          try {
            const t0 = performance.now();
            const coldAnswer = await q.ask(s, big);
            const coldMs = performance.now() - t0;
            let warmAnswer = '';
            const warm = await timed(
              runs,
              () => q.ask(s, big),
              (a) => {
                warmAnswer = a;
                return 0;
              },
            );
            process.stderr.write(`  ${q.id}: cold ${fmtMs(coldMs)} ms, warm ${fmtMs(warm.medianMs)} ms\n`);
            s3rows.push([
              q.id,
              fmtMs(coldMs),
              warm.error ? `failed: ${warm.error}` : fmtMs(warm.medianMs),
              warm.error ? '—' : `${(coldMs / warm.medianMs).toFixed(1)}x`,
              coldAnswer === warmAnswer ? 'same answer' : 'ANSWERS DIFFER',
            ]);
          } finally {
            await s.stop().catch(() => s.kill());
          }
        }
        figures['S3 store'] =
          `${files} Parquet objects after compaction in Ceph RGW (memstore OSD on 127.0.0.1)`;
      } finally {
        await rgw.stop();
        await removeDir(dataDir);
      }
      s3Table = [
        '',
        '',
        '| query (Ceph RGW + disk cache) | cold ms (restart, empty cache) | warm ms (median) | cold ÷ warm | answers |',
        '|---|---:|---:|---:|---|',
        ...s3rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
      ].join('\n');
    }
  }

  return {
    title: 'lifecycle: query latency before/after compaction, S3 cold vs warm',
    section: 'Storage lifecycle',
    workload: `${fmtInt(lines)} lines of the Loki logs set (seed ${seed}, 32 streams, 2 h window ending now) pushed as ${bodies.length} Loki JSON requests over one lane, each followed by a flush (local part); the S3 part pushes the same lines in requests of 5,000 and flushes once; queries over the whole window, median of ${runs} runs after 1 warm-up; cold = first query after a restart with an empty disk cache`,
    figures,
    table: compactionTable + s3Table,
    notes:
      'Compaction merges the small files of each hour bucket into one sorted file (compactor.targetFileBytes); the background compactor is off during the run so `POST /api/default/_compact` decides when. Ceph RGW runs a RAM-backed OSD on the same 2 cores, so "cold" measures the fetch path (list, GET, disk cache) rather than a network.',
  };
}
