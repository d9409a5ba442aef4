/**
 * A small remote_write driver for profiling ingest alone (no peers, no PromQL set): starts a fresh
 * server (optionally with node flags such as --cpu-prof), sends the pre-encoded TSBS requests of one
 * shape on N lanes, waits until every sample is queryable, and prints samples/s, server CPU-s and
 * peak RSS.
 *
 *   node --import tsx bench/rw-drive.ts --shape live|backfill [--hosts 1000] [--points 60]
 *     [--lanes 4] [--node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"] [--server-log file]
 */
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { ROOT_AUTH, removeDir, startServer } from '../test/harness.ts';
import { cpuSeconds, peakRss, postRemoteWrite } from './lib/server-client.ts';
import { FIELDS, encodeBackfill, encodeLive, generateTsbs, seriesLabelBytes } from './lib/tsbs-data.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.slice(2), process.argv[i + 1] ?? '');
const shape = args.get('shape') ?? 'live';
const hosts = Number(args.get('hosts') ?? 1000);
const points = Number(args.get('points') ?? (shape === 'live' ? 60 : 1440));
const nLanes = Number(args.get('lanes') ?? 4);
const nodeArgs = (args.get('node-args') ?? '').split(' ').filter((s) => s !== '');

const INTERVAL_MS = 10_000;
const endMs = Math.floor((Date.now() - 600_000) / INTERVAL_MS) * INTERVAL_MS;
const startMs = endMs - (points - 1) * INTERVAL_MS;
const data = generateTsbs({ hosts, points, intervalMs: INTERVAL_MS, startMs, seed: 123, values: 'int' });
const labels = seriesLabelBytes(data);
const lanes =
  shape === 'live'
    ? encodeLive(data, labels, { lanes: nLanes, seriesPerRequest: 2000, points })
    : encodeBackfill(data, labels, { lanes: nLanes, seriesPerRequest: 2500, samplesPerSeries: 10 });
const samples = data.seriesCount * points;
console.log(`${shape}: ${lanes.requests} requests, ${samples} samples, ${lanes.wireBytes} wire bytes`);

// --env K=V,K2=V2: extra server environment (e.g. MOLESIGNAL_MEMTABLE_MAX_ROWS=20000000)
const extraEnv = Object.fromEntries(
  (args.get('env') ?? '')
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const server = await startServer({
  nodeArgs,
  env: { MOLESIGNAL_LOG_LEVEL: args.get('log-level') ?? 'warn', ...extraEnv },
});
const pid = server.proc.pid!;
const agent = new Agent({ keepAlive: true, maxSockets: nLanes });
try {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  let failed = 0;
  const doneAtMs: number[] = [];
  await Promise.all(
    lanes.lanes.map(async (lane) => {
      for (const body of lane) {
        if ((await postRemoteWrite(agent, server.url, { authorization: ROOT_AUTH }, body)).status !== 204)
          failed++;
        doneAtMs.push(performance.now() - t0);
      }
    }),
  );
  // when the first 1, 10, 25, 50, 75 and 100 % of the requests were acknowledged
  const at = (f: number) => Math.round(doneAtMs[Math.max(0, Math.ceil(f * doneAtMs.length) - 1)]!);
  console.log(
    `acknowledged by ms: ${[0.01, 0.1, 0.25, 0.5, 0.75, 1].map((f) => `${f * 100}% ${at(f)}`).join(', ')}`,
  );
  const sendMs = performance.now() - t0;
  const windowS = Math.round((points * INTERVAL_MS) / 1000);
  const query = FIELDS.map((f) => `sum(count_over_time(cpu_${f}[${windowS}s]))`).join(' + ');
  // --skip-query 1: stop after the last acknowledgement (profiles of the ingest path alone)
  let visible = args.get('skip-query') === '1' ? samples : 0;
  const queries: number[] = [];
  while (visible < samples) {
    const q0 = performance.now();
    const r = await server.fetch(
      `/api/v1/query?query=${encodeURIComponent(query)}&time=${(startMs + (points - 1) * INTERVAL_MS) / 1000}`,
    );
    const body = (await r.json()) as { data?: { result: { value: [number, string] }[] } };
    visible = Number(body.data?.result[0]?.value[1] ?? 0);
    queries.push(Math.round(performance.now() - q0));
    if (visible < samples) await new Promise((r) => setTimeout(r, 50));
  }
  const qMs = performance.now() - t0;
  const cpu = cpuSeconds(pid) - cpu0;
  const again: number[] = [];
  for (let k = 0; k < Number(args.get('requery') ?? 0); k++) {
    const q0 = performance.now();
    await (
      await server.fetch(
        `/api/v1/query?query=${encodeURIComponent(query)}&time=${(startMs + (points - 1) * INTERVAL_MS) / 1000}`,
      )
    ).text();
    again.push(Math.round(performance.now() - q0));
  }
  if (again.length > 0) console.log(`the same query again: ${again.join(', ')} ms`);
  console.log(
    `${shape}: ${Math.round(samples / (qMs / 1000))} samples/s until queryable (${(qMs / 1000).toFixed(2)} s), ` +
      `acked ${Math.round(samples / (sendMs / 1000))}/s, ${cpu.toFixed(2)} CPU-s = ${Math.round(samples / cpu)} per CPU-s, ` +
      `peak RSS ${(peakRss(pid) / 2 ** 20).toFixed(0)} MiB, failed ${failed}; queries ${queries.join(', ')} ms`,
  );
} finally {
  agent.destroy();
  await server.stop();
  const logFile = args.get('server-log');
  if (logFile) writeFileSync(logFile, server.log);
  await removeDir(server.dataDir);
}
