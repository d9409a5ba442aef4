/**
 * TSBS "cpu-only" against MoleSignal, Prometheus and VictoriaMetrics (Debian packages), each started
 * fresh by this suite on 127.0.0.1 and fed the same pre-encoded remote_write 1.0 requests
 * (issue 3, done-when item 6; methodology and peer figures in ../shared/notes/performance.md).
 *
 * Per target: samples/s until queryable (send everything on 4 host-sharded lanes, then poll
 * `sum(count_over_time({__name__=~"cpu_.*"}[W]))` until every sample is visible), samples per
 * server CPU-second (/proc/<pid>/stat), peak RSS (VmHWM), bytes/sample on disk, the median of 25
 * runs (after 1 warm-up) of the ten PromQL queries of the notes' appendix, and the live shape
 * (one sample per series per request) on a second fresh server.
 *
 * Flags: --hosts N (1000) --points N (1440) --values int|float|both (int) --quick 1 (100 hosts × 360
 * points; a bare --quick only as the last flag) --targets molesignal,prometheus,victoriametrics --seed N (123) --lanes N (4)
 * --live-points N (60; 0 skips the live shape) --live-targets (same as --targets) --runs N (25)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_AUTH, startServer } from '../../test/harness.ts';
import type { BenchResult } from '../run.ts';
import { freePort } from '../../test/peers.ts';
import { benchNodeArgs, cpuSeconds, dirBytes, peakRss, postRemoteWrite } from '../lib/server-client.ts';
import {
  FIELDS,
  encodeBackfill,
  encodeLive,
  generateTsbs,
  seriesLabelBytes,
  tsbsQueries,
  type Lanes,
  type TsbsData,
  type TsbsQuery,
} from '../lib/tsbs-data.ts';

type TargetName = 'molesignal' | 'prometheus' | 'victoriametrics';
const ALL_TARGETS: TargetName[] = ['molesignal', 'prometheus', 'victoriametrics'];
const INTERVAL_MS = 10_000;

interface Target {
  name: TargetName;
  version: string;
  url: string;
  pid: number;
  headers: Record<string, string>;
  /** bytes/sample basis: total bytes and what they cover */
  disk(samples: number): Promise<{ bytes: number; what: string; extra?: string }>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gitRev(): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], {
    encoding: 'utf8',
  });
  return r.status === 0
    ? `${r.stdout.trim()}${dirty.stdout.trim() ? '+local changes in src/' : ''}`
    : 'working tree';
}

function pkgVersion(pkg: string): string {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function hasBinary(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).status === 0;
}

/** apt-get install the peer if its binary is missing; false (with a message) if that fails. */
function ensurePeer(bin: string, pkg: string): boolean {
  if (hasBinary(bin)) return true;
  console.log(`  ${bin} is missing: apt-get install -y ${pkg}`);
  const install = () =>
    spawnSync('apt-get', ['install', '-y', pkg], {
      stdio: 'ignore',
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  if (!install()) {
    console.log('  install failed; apt-get update and retry');
    spawnSync('apt-get', ['update'], { stdio: 'ignore', timeout: 600_000 });
    install();
  }
  if (hasBinary(bin)) return true;
  console.log(`  SKIPPING ${pkg}: could not install it (apt-get install -y ${pkg} failed)`);
  return false;
}

/** Spawns a peer binary, waits for its readiness URL; SIGTERM then SIGKILL on stop. */
async function spawnPeer(
  bin: string,
  args: string[],
  readyUrl: string,
  cwd: string,
): Promise<{ proc: ChildProcess; stop: () => Promise<void>; log: () => string }> {
  const out: string[] = [];
  const proc = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (b: Buffer) => out.push(b.toString()));
  proc.stderr?.on('data', (b: Buffer) => out.push(b.toString()));
  let exited = false;
  const exitP = new Promise<void>((r) =>
    proc.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const stop = async () => {
    if (exited) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exitP;
    clearTimeout(t);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`${bin} exited before it was ready:\n${out.join('').slice(-2000)}`);
    try {
      const r = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${bin} not ready within 60 s:\n${out.join('').slice(-2000)}`);
    }
    await sleep(200);
  }
  return { proc, stop, log: () => out.join('') };
}

/** fixed at the start of the run (the working tree is shared; HEAD may move during a run) */
let MOLE_REV = 'working tree';

/** stop functions of the targets running now, for SIGINT/SIGTERM */
const RUNNING = new Set<() => Promise<void>>();

async function stopAllAndExit(signal: string): Promise<void> {
  console.error(`\n${signal}: stopping ${RUNNING.size} target(s)`);
  await Promise.allSettled([...RUNNING].map((stop) => stop()));
  process.exit(130);
}

async function startTarget(name: TargetName): Promise<Target> {
  const t = await startTargetRaw(name);
  const tracked = async () => {
    RUNNING.delete(tracked);
    await t.stop();
  };
  RUNNING.add(tracked);
  return { ...t, stop: tracked };
}

async function startTargetRaw(name: TargetName): Promise<Target> {
  if (name === 'molesignal') {
    const server = await startServer(benchNodeArgs());
    const pid = server.proc.pid!;
    return {
      name,
      version: `MoleSignal ${MOLE_REV}`,
      url: server.url,
      pid,
      headers: { authorization: ROOT_AUTH },
      disk: async (samples) => {
        const r = await server.fetch('/api/default/streams/_samples/_flush?type=metrics', { method: 'POST' });
        const flushed = await r.text();
        if (!r.ok) throw new Error(`flush failed ${r.status}: ${flushed}`);
        const objects = dirBytes(join(server.dataDir, 'objects'));
        let catalog = 0;
        for (const f of readdirSync(server.dataDir))
          if (f.startsWith('catalog.sqlite')) catalog += statSync(join(server.dataDir, f)).size;
        const wal = dirBytes(server.dataDir, (n) => n === 'objects' || n.startsWith('catalog.sqlite'));
        return {
          bytes: objects + catalog,
          what: 'Parquet under objects/ + catalog.sqlite*, after POST _flush',
          extra: `Parquet alone ${(objects / samples).toFixed(3)} B/sample; objects ${objects} B, catalog ${catalog} B, rest of data dir (WAL etc.) ${wal} B; flush answered ${flushed}`,
        };
      },
      stop: async () => {
        try {
          await server.stop();
        } catch {
          await server.kill();
        }
        await rm(server.dataDir, { recursive: true, force: true });
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), `tsbs-${name}-`));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  try {
    if (name === 'prometheus') {
      writeFileSync(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 1h }\n');
      const data = join(dir, 'data');
      const p = await spawnPeer(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${data}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--web.enable-remote-write-receiver',
          '--web.enable-admin-api',
          '--log.level=warn',
        ],
        `${url}/-/ready`,
        dir,
      );
      return {
        name,
        version: `Prometheus ${pkgVersion('prometheus')}`,
        url,
        pid: p.proc.pid!,
        headers: {},
        disk: async (samples) => {
          const r = await fetch(`${url}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
          const body = (await r.json()) as { data?: { name?: string } };
          const snap = body.data?.name;
          if (!r.ok || !snap) throw new Error(`snapshot failed ${r.status}: ${JSON.stringify(body)}`);
          const snapBytes = dirBytes(join(data, 'snapshots', snap));
          const live = dirBytes(data, (n) => n === 'snapshots');
          return {
            bytes: snapBytes,
            what: 'TSDB snapshot (head written as a block: chunks + index)',
            extra: `data dir without the snapshot (WAL + head chunks + blocks): ${live} B = ${(live / samples).toFixed(2)} B/sample`,
          };
        },
        stop: async () => {
          await p.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    const data = join(dir, 'data');
    const p = await spawnPeer(
      'victoria-metrics',
      [
        `-storageDataPath=${data}`,
        `-httpListenAddr=127.0.0.1:${port}`,
        '-search.disableCache',
        '-retentionPeriod=1y',
        '-loggerLevel=ERROR',
      ],
      `${url}/health`,
      dir,
    );
    return {
      name,
      version: `VictoriaMetrics ${pkgVersion('victoria-metrics')}`,
      url,
      pid: p.proc.pid!,
      headers: {},
      disk: async () => {
        const r = await fetch(`${url}/internal/force_flush`);
        await r.text();
        await sleep(2000);
        const total = dirBytes(data);
        const idx = dirBytes(join(data, 'indexdb'));
        return {
          bytes: total,
          what: '-storageDataPath after /internal/force_flush (+2 s)',
          extra: `data ${total - idx} B, indexdb ${idx} B`,
        };
      },
      stop: async () => {
        await p.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

const post = (agent: Agent, t: Target, body: Uint8Array) => postRemoteWrite(agent, t.url, t.headers, body);

interface PromResult {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
  };
}

async function promQuery(
  t: Target,
  q: { query: string; kind: 'range' | 'instant'; start: number; end: number; step: number },
  timeoutMs = 120_000,
): Promise<PromResult> {
  const params = new URLSearchParams({ query: q.query });
  if (q.kind === 'range') {
    params.set('start', String(q.start));
    params.set('end', String(q.end));
    params.set('step', String(q.step));
  } else params.set('time', String(q.end));
  const path = q.kind === 'range' ? '/api/v1/query_range' : '/api/v1/query';
  const r = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { ...t.headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: params.toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  let body: PromResult;
  try {
    body = JSON.parse(text) as PromResult;
  } catch {
    throw new Error(`HTTP ${r.status}: ${text.slice(0, 300)}`);
  }
  if (!r.ok || body.status !== 'success')
    throw new Error(`HTTP ${r.status}: ${body.error ?? text.slice(0, 300)}`);
  return body;
}

/** How many samples of the window [firstMs, lastMs] the target answers with. */
async function visibleSamples(t: Target, firstMs: number, lastMs: number): Promise<number> {
  const windowS = Math.round((lastMs - firstMs) / 1000) + INTERVAL_MS / 1000;
  const r = await promQuery(
    t,
    {
      kind: 'instant',
      // one term per metric: Prometheus rejects count_over_time({__name__=~"cpu_.*"}[…]) because
      // the function drops __name__ and the 10 fields of a host collide
      query: FIELDS.map((f) => `sum(count_over_time(cpu_${f}[${windowS}s]))`).join(' + '),
      start: lastMs / 1000,
      end: lastMs / 1000,
      step: 0,
    },
    60_000,
  );
  const v = r.data?.result[0]?.value?.[1];
  return v === undefined ? 0 : Number(v);
}

interface IngestResult {
  samples: number;
  sendMs: number;
  queryableMs: number;
  visible: number;
  cpuS: number;
  rssIngest: number;
  failed: number;
  firstError?: string;
}

async function ingest(
  t: Target,
  lanes: Lanes,
  samples: number,
  firstMs: number,
  lastMs: number,
): Promise<IngestResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: lanes.lanes.length });
  let failed = 0;
  let firstError: string | undefined;
  let sent = 0;
  const progress = setInterval(
    () => process.stderr.write(`\r  ${t.name}: sent ${sent} / ${lanes.requests} requests`),
    1000,
  );
  const cpu0 = cpuSeconds(t.pid);
  const started = performance.now();
  try {
    await Promise.all(
      lanes.lanes.map(async (lane) => {
        for (const body of lane) {
          const r = await post(agent, t, body);
          sent++;
          if (r.status < 200 || r.status > 299) {
            failed++;
            firstError ??= `HTTP ${r.status}: ${r.text.slice(0, 300)}`;
          }
        }
      }),
    );
    const sendMs = performance.now() - started;
    const deadline = Date.now() + 60_000 + samples / 100;
    let visible = 0;
    let lastErr = '';
    for (;;) {
      try {
        visible = await visibleSamples(t, firstMs, lastMs);
      } catch (e) {
        lastErr = (e as Error).message;
      }
      if (visible >= samples || Date.now() > deadline) break;
      await sleep(100);
    }
    const queryableMs = performance.now() - started;
    const cpuS = cpuSeconds(t.pid) - cpu0;
    if (visible < samples)
      firstError ??= `only ${visible} of ${samples} samples visible at the deadline ${lastErr}`;
    return {
      samples,
      sendMs,
      queryableMs,
      visible,
      cpuS,
      rssIngest: peakRss(t.pid),
      failed,
      ...(firstError ? { firstError } : {}),
    };
  } finally {
    clearInterval(progress);
    process.stderr.write('\n');
    agent.destroy();
  }
}

interface QueryStat {
  medianMs: number;
  runs: number;
  series: number;
  points: number;
  sum: number;
  error?: string;
}

function summarize(r: PromResult): { series: number; points: number; sum: number } {
  let points = 0;
  let sum = 0;
  const result = r.data?.result ?? [];
  for (const s of result) {
    const vals = s.values ?? (s.value ? [s.value] : []);
    points += vals.length;
    for (const [, v] of vals) sum += Number(v);
  }
  return { series: result.length, points, sum };
}

async function measureQuery(t: Target, q: TsbsQuery, runs: number): Promise<QueryStat> {
  const budgetMs = 90_000;
  const began = performance.now();
  let summary: { series: number; points: number; sum: number };
  try {
    summary = summarize(await promQuery(t, q));
  } catch (e) {
    return {
      medianMs: NaN,
      runs: 0,
      series: 0,
      points: 0,
      sum: 0,
      error: (e as Error).message.slice(0, 300),
    };
  }
  const times: number[] = [];
  try {
    while (times.length < runs && performance.now() - began < budgetMs) {
      const s = performance.now();
      await promQuery(t, q);
      times.push(performance.now() - s);
    }
  } catch (e) {
    return { medianMs: NaN, runs: times.length, ...summary, error: (e as Error).message.slice(0, 300) };
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { medianMs: median, runs: times.length, ...summary };
}

interface TargetRun {
  target: TargetName;
  version: string;
  ingest?: IngestResult;
  disk?: { bytes: number; what: string; extra?: string };
  rssAfterQueries?: number;
  queries: Map<string, QueryStat>;
  live?: IngestResult;
  error?: string;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en');
const fmtM = (n: number) => `${(n / 1e6).toFixed(2)} M`;
const fmtMiB = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
const fmtMs = (n: number) =>
  Number.isNaN(n) ? 'n/a' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
const ratio = (a: number, b: number) => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

async function runTarget(
  name: TargetName,
  data: TsbsData,
  lanes: Lanes,
  queries: TsbsQuery[],
  runs: number,
): Promise<TargetRun> {
  const out: TargetRun = { target: name, version: '', queries: new Map() };
  let t: Target | undefined;
  try {
    console.log(`\n[${name}] starting (fresh data dir)`);
    t = await startTarget(name);
    out.version = t.version;
    out.ingest = await ingest(t, lanes, data.samples, data.opts.startMs, data.endMs);
    const i = out.ingest;
    console.log(
      `  ${fmtInt(i.samples / (i.queryableMs / 1000))} samples/s until queryable (${(i.queryableMs / 1000).toFixed(1)} s, send ${(i.sendMs / 1000).toFixed(1)} s), ${i.cpuS.toFixed(1)} CPU-s, peak RSS ${fmtMiB(i.rssIngest)}${i.failed ? `, ${i.failed} requests failed` : ''}${i.firstError ? ` — ${i.firstError}` : ''}`,
    );
    try {
      out.disk = await t.disk(data.samples);
      console.log(
        `  disk: ${(out.disk.bytes / data.samples).toFixed(3)} B/sample (${out.disk.what}; ${out.disk.extra ?? ''})`,
      );
    } catch (e) {
      console.log(`  disk measurement failed: ${(e as Error).message}`);
    }
    for (const q of queries) {
      const s = await measureQuery(t, q, runs);
      out.queries.set(q.id, s);
      console.log(
        `  ${q.id}: ${fmtMs(s.medianMs)} ms (${s.runs} runs) series=${s.series} points=${s.points}${s.error ? ` ERROR ${s.error}` : ''}`,
      );
    }
    out.rssAfterQueries = peakRss(t.pid);
  } catch (e) {
    out.error = (e as Error).message.slice(0, 500);
    console.log(`  [${name}] FAILED: ${out.error}`);
  } finally {
    await t?.stop();
  }
  return out;
}

async function runLive(
  name: TargetName,
  data: TsbsData,
  live: Lanes,
  livePoints: number,
): Promise<IngestResult | string> {
  let t: Target | undefined;
  try {
    console.log(`\n[${name}] live shape (fresh data dir)`);
    t = await startTarget(name);
    const samples = data.seriesCount * livePoints;
    const r = await ingest(
      t,
      live,
      samples,
      data.opts.startMs,
      data.opts.startMs + (livePoints - 1) * INTERVAL_MS,
    );
    console.log(
      `  live: ${fmtInt(r.samples / (r.queryableMs / 1000))} samples/s until queryable, ${fmtInt(r.samples / (r.sendMs / 1000))} acknowledged, ${r.cpuS.toFixed(1)} CPU-s${r.firstError ? ` — ${r.firstError}` : ''}`,
    );
    return r;
  } catch (e) {
    console.log(`  [${name}] live FAILED: ${(e as Error).message}`);
    return (e as Error).message.slice(0, 300);
  } finally {
    await t?.stop();
  }
}

function resultsAgree(a: QueryStat, b: QueryStat): boolean {
  if (a.error || b.error) return false;
  if (a.series !== b.series || a.points !== b.points) return false;
  return Math.abs(a.sum - b.sum) <= 1e-6 * Math.max(1, Math.abs(a.sum), Math.abs(b.sum));
}

export async function run(args: Record<string, string>): Promise<BenchResult> {
  // bench/run.ts reads every flag as `--name value`: write `--quick 1`, or `--quick` as the last flag
  const quick = 'quick' in args && !['0', 'false', 'no'].includes(args.quick ?? '');
  const hosts = Number(args.hosts ?? (quick ? 100 : 1000));
  const points = Number(args.points ?? (quick ? 360 : 1440));
  const seed = Number(args.seed ?? 123);
  const nLanes = Number(args.lanes ?? 4);
  // 25: TSBS runs many queries of a type; the median of 5 measured MoleSignal's JIT warm-up of a
  // new query shape (single-groupby-5-1-all: 12.4 ms at 5 runs, 3.9 ms at 25, same data)
  const runs = Number(args.runs ?? 25);
  const livePoints = Math.min(points, Number(args['live-points'] ?? (quick ? 30 : 60)));
  const valuesArg = args.values ?? 'int';
  if (!['int', 'float', 'both'].includes(valuesArg)) throw new Error('--values must be int, float or both');
  const variants: ('int' | 'float')[] =
    valuesArg === 'both' ? ['int', 'float'] : [valuesArg as 'int' | 'float'];
  const requested = (args.targets ?? ALL_TARGETS.join(',')).split(',').map((s) => s.trim()) as TargetName[];
  for (const t of requested)
    if (!ALL_TARGETS.includes(t)) throw new Error(`unknown target ${t}; known: ${ALL_TARGETS.join(', ')}`);
  MOLE_REV = gitRev();
  const onSignal = (sig: string) => void stopAllAndExit(sig);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const skipped: string[] = [];
  const targets = requested.filter((t) => {
    const ok =
      t === 'prometheus'
        ? ensurePeer('prometheus', 'prometheus')
        : t === 'victoriametrics'
          ? ensurePeer('victoria-metrics', 'victoria-metrics')
          : true;
    if (!ok) skipped.push(t);
    return ok;
  });
  const liveTargets = (args['live-targets'] ?? targets.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((t): t is TargetName => targets.includes(t as TargetName));

  // the data window ends 10 minutes ago (VictoriaMetrics hides the last 30 s; it and MoleSignal
  // keep recent data), aligned to the interval
  const endMs = Math.floor((Date.now() - 600_000) / INTERVAL_MS) * INTERVAL_MS;
  const startMs = endMs - (points - 1) * INTERVAL_MS;

  const figures: Record<string, string> = {};
  const table: string[] = [];
  const notes: string[] = [];
  let workload = '';
  for (const variant of variants) {
    const t0 = performance.now();
    const data = generateTsbs({ hosts, points, intervalMs: INTERVAL_MS, startMs, seed, values: variant });
    const labels = seriesLabelBytes(data);
    const lanes = encodeBackfill(data, labels, {
      lanes: nLanes,
      seriesPerRequest: 2500,
      samplesPerSeries: 10,
    });
    const live =
      variant === 'int' && livePoints > 0 && liveTargets.length > 0
        ? encodeLive(data, labels, { lanes: nLanes, seriesPerRequest: 2000, points: livePoints })
        : undefined;
    const queries = tsbsQueries(data, seed);
    console.log(
      `TSBS cpu-only (${variant}): ${hosts} hosts × 10 fields × ${points} points = ${fmtInt(data.samples)} samples, ${data.seriesCount} series; ${lanes.requests} requests of ${lanes.seriesPerRequest} series × 10 samples, ${(lanes.wireBytes / data.samples).toFixed(2)} B/sample on the wire; encoded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const vw = `TSBS cpu-only, ${variant === 'int' ? 'integer values (as TSBS emits them)' : '3-decimal float values'}, seed ${seed}: ${hosts.toLocaleString('en')} hosts × 10 fields × ${points.toLocaleString('en')} points @10 s = ${fmtInt(data.samples)} samples, ${fmtInt(data.seriesCount)} series; remote_write 1.0 backfill: ${lanes.requests} requests of ${lanes.seriesPerRequest} series × 10 samples (${(lanes.wireBytes / lanes.requests / 1024).toFixed(0)} KiB snappy each), ${lanes.lanes.length} lanes sharded by host, each in time order, pre-encoded before timing`;
    workload += (workload ? ' | ' : '') + vw;
    if (live)
      workload += `; live shape: ${fmtInt(data.seriesCount * livePoints)} samples (first ${livePoints} points), ${live.requests} requests of ${live.seriesPerRequest} series × 1 sample, ${live.lanes.length} lanes`;

    const results: TargetRun[] = [];
    for (const name of targets) {
      const r = await runTarget(name, data, lanes, queries, runs);
      if (live && liveTargets.includes(name)) {
        const l = await runLive(name, data, live, livePoints);
        if (typeof l === 'string') r.error = `${r.error ?? ''} live: ${l}`;
        else r.live = l;
      }
      results.push(r);
    }

    // ---- table + figures ----
    const p = variant === 'int' ? '' : '[float] ';
    const by = new Map(results.map((r) => [r.target, r]));
    const mole = by.get('molesignal');
    const rate = (i?: IngestResult) =>
      i && i.visible >= i.samples ? i.samples / (i.queryableMs / 1000) : NaN;
    const perCpu = (i?: IngestResult) => (i ? i.samples / i.cpuS : NaN);
    const bps = (r?: TargetRun) => (r?.disk ? r.disk.bytes / data.samples : NaN);
    table.push(`\n${variant} values — ingest and storage`);
    table.push(
      [
        'target',
        'samples/s until queryable',
        'send-only samples/s',
        'samples per CPU-s',
        'peak RSS ingest / after queries',
        'bytes/sample',
        'live-shape samples/s',
      ].join(' | '),
    );
    for (const r of results) {
      const i = r.ingest;
      const row = [
        r.version || r.target,
        i
          ? i.visible >= i.samples
            ? fmtM(rate(i))
            : `INCOMPLETE (${fmtInt(i.visible)} of ${fmtInt(i.samples)} visible)`
          : 'n/a',
        i ? fmtM(i.samples / (i.sendMs / 1000)) : 'n/a',
        i ? fmtM(perCpu(i)) : 'n/a',
        `${i ? fmtMiB(i.rssIngest) : 'n/a'} / ${r.rssAfterQueries ? fmtMiB(r.rssAfterQueries) : 'n/a'}`,
        r.disk ? (r.disk.bytes / data.samples).toFixed(3) : 'n/a',
        r.live
          ? r.live.visible >= r.live.samples
            ? fmtInt(rate(r.live))
            : `INCOMPLETE (${r.live.visible}/${r.live.samples})`
          : '-',
      ];
      table.push(row.join(' | '));
      const key = `${p}${r.version || r.target}`;
      if (r.error) figures[`${key} error`] = r.error;
      if (i) {
        figures[`${key}: ingest samples/s until queryable`] =
          i.visible >= i.samples
            ? `${fmtInt(rate(i))} (${(i.queryableMs / 1000).toFixed(1)} s; send-only ${fmtInt(i.samples / (i.sendMs / 1000))}/s)`
            : `INCOMPLETE: ${fmtInt(i.visible)} of ${fmtInt(i.samples)} samples visible after ${(i.queryableMs / 1000).toFixed(0)} s`;
        figures[`${key}: samples per server CPU-s`] = `${fmtInt(perCpu(i))} (${i.cpuS.toFixed(1)} CPU-s)`;
        figures[`${key}: peak RSS ingest / after queries`] =
          `${fmtMiB(i.rssIngest)} / ${r.rssAfterQueries ? fmtMiB(r.rssAfterQueries) : 'n/a'}`;
        if (i.failed || i.firstError)
          figures[`${key}: ingest problems`] = `${i.failed} failed requests; ${i.firstError ?? ''}`;
      }
      if (r.disk)
        figures[`${key}: bytes/sample on disk`] =
          `${(r.disk.bytes / data.samples).toFixed(3)} (${r.disk.what}; ${r.disk.extra ?? ''})`;
      if (r.live)
        figures[`${key}: live-shape samples/s until queryable`] =
          r.live.visible >= r.live.samples
            ? `${fmtInt(rate(r.live))} (acknowledged ${fmtInt(r.live.samples / (r.live.sendMs / 1000))}/s, ${fmtInt(perCpu(r.live))} per CPU-s)`
            : `INCOMPLETE: ${r.live.visible} of ${r.live.samples}; ${r.live.firstError ?? ''}`;
    }

    table.push(`\n${variant} values — PromQL median ms (of ${runs} after 1 warm-up)`);
    table.push(
      [
        'query',
        ...results.map((r) => r.target),
        ...results.filter((r) => r.target !== 'molesignal' && mole).map((r) => `mole/${r.target}`),
      ].join(' | '),
    );
    const ratiosBy = new Map<string, number[]>();
    for (const q of queries) {
      const row = [q.id];
      for (const r of results) {
        const s = r.queries.get(q.id);
        row.push(s ? (s.error ? `ERR` : fmtMs(s.medianMs)) : 'n/a');
      }
      const m = mole?.queries.get(q.id);
      for (const r of results) {
        if (r.target === 'molesignal' || !mole) continue;
        const s = r.queries.get(q.id);
        const rr = m && s && !m.error && !s.error ? m.medianMs / s.medianMs : NaN;
        if (Number.isFinite(rr))
          (ratiosBy.get(r.target) ?? ratiosBy.set(r.target, []).get(r.target)!).push(rr);
        row.push(Number.isFinite(rr) ? `${rr.toFixed(2)}x` : 'n/a');
      }
      table.push(row.join(' | '));
      figures[`${p}PromQL ${q.id} median ms (${results.map((r) => r.target).join(' / ')})`] = results
        .map((r) => {
          const s = r.queries.get(q.id);
          if (!s) return 'n/a';
          if (s.error) return `ERROR (${s.error.slice(0, 160)})`;
          return `${fmtMs(s.medianMs)}${s.runs < runs ? ` (${s.runs} runs)` : ''}`;
        })
        .join(' / ');
      // result agreement
      if (m) {
        for (const r of results) {
          if (r.target === 'molesignal') continue;
          const s = r.queries.get(q.id);
          if (s && !s.error && !m.error && !resultsAgree(m, s))
            notes.push(
              `${p}${q.id}: MoleSignal's result differs from ${r.target} (series/points/sum ${m.series}/${m.points}/${m.sum.toFixed(3)} vs ${s.series}/${s.points}/${s.sum.toFixed(3)})`,
            );
        }
        if (m.error) notes.push(`${p}${q.id}: MoleSignal failed: ${m.error.slice(0, 200)}`);
      }
    }

    // ---- ratios ----
    if (mole) {
      for (const r of results) {
        if (r.target === 'molesignal') continue;
        const name = r.version || r.target;
        const qr = ratiosBy.get(r.target) ?? [];
        const sorted = [...qr].sort((a, b) => a - b);
        const median = sorted.length
          ? sorted.length % 2
            ? sorted[sorted.length >> 1]!
            : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
          : NaN;
        const geo = qr.length ? Math.exp(qr.reduce((a, b) => a + Math.log(b), 0) / qr.length) : NaN;
        const ratioLine = [
          `ingest until queryable ${ratio(rate(mole.ingest), rate(r.ingest))}`,
          `per CPU-s ${ratio(perCpu(mole.ingest), perCpu(r.ingest))}`,
          `bytes/sample ${ratio(bps(mole), bps(r))}`,
          `peak RSS ${ratio(mole.ingest?.rssIngest ?? NaN, r.ingest?.rssIngest ?? NaN)}`,
          `PromQL latency median ratio ${Number.isFinite(median) ? median.toFixed(2) : 'n/a'}x, geo-mean ${Number.isFinite(geo) ? geo.toFixed(2) : 'n/a'}x over ${qr.length} queries`,
        ].join('; ');
        figures[`${p}ratios MoleSignal / ${name}`] = ratioLine;
        table.push(`MoleSignal / ${name}: ${ratioLine}`);
        if (r.target === 'prometheus') {
          const slower = queries
            .map((q) => {
              const a = mole.queries.get(q.id);
              const b = r.queries.get(q.id);
              return a && b && !a.error && !b.error
                ? { id: q.id, heavy: q.heavy, d: a.medianMs - b.medianMs }
                : null;
            })
            .filter((x): x is { id: string; heavy: boolean; d: number } => x !== null);
          const bad = slower.filter((x) => (x.heavy ? x.d >= 0 : x.d > 2));
          figures[`${p}vs Prometheus: heavy queries faster, none slower by > 2 ms`] = bad.length
            ? `NO — ${bad.map((x) => `${x.id} ${x.d >= 0 ? '+' : ''}${x.d.toFixed(1)} ms`).join(', ')}`
            : 'yes';
        }
      }
    }
  }
  console.log(table.join('\n'));
  if (notes.length) console.log(`\nproblems:\n  ${notes.join('\n  ')}`);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return {
    title: `tsbs: TSBS cpu-only remote_write ingest, storage and PromQL vs ${targets.filter((t) => t !== 'molesignal').join(' and ') || 'no peers'}${quick ? ' (--quick)' : ''}`,
    workload,
    figures,
    notes: [
      "All targets on 127.0.0.1, each started fresh by the bench (fresh data dir, stopped after), fed the same pre-encoded requests; client and servers share the machine's cores, so wall-clock rates are whole-box numbers and \"per CPU-s\" uses only the server process's utime+stime. Other engineers' test runs were loading the shared 2-core machine, so expect tens of percent run-to-run noise; compare ratios from the same run.",
      "Queries exactly as listed in ../shared/notes/performance.md (appendix), H1/H8 hosts from the seed; VictoriaMetrics with -search.disableCache; results compared by series count, point count and value sum; each query's median of --runs runs after one warm-up, every target the same. Expected differences: VictoriaMetrics' rate() (no extrapolation) by design; Prometheus 2.42 range selectors are closed on the left ([t-r, t]) while Prometheus 3 (which MoleSignal follows) and VictoriaMetrics exclude t-r, and TSBS timestamps fall on the step grid, so *_over_time and rate windows hold one more sample on 2.42. VictoriaMetrics makes new series searchable only after several seconds (about 10 s), which is included in its until-queryable figures and dominates --quick runs and its live-shape figure (its acknowledged rate is shown beside it).",
      ...(skipped.length ? [`skipped (could not be installed): ${skipped.join(', ')}`] : []),
      ...(MOLE_REV.includes('local')
        ? [
            `MoleSignal ran from a shared working tree with uncommitted src/ changes by other engineers (${MOLE_REV}).`,
          ]
        : []),
      ...notes,
    ].join(' '),
  };
}
