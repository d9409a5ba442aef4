/**
 * OTLP/HTTP protobuf log ingest, until every record is queryable. Batches of 1000 realistic
 * ~500-byte records (serialized by the OpenTelemetry JS SDK, pre-encoded before timing), several
 * concurrent keep-alive clients, default fsync policy (group commit).
 * Flags: --records N (default 1000000), --clients N (default 4).
 */
import { Agent, request } from 'node:http';
import { encodeLogs, realisticLogRecords } from '../../src/ingest/otlp/otel-sdk-fixtures.ts';
import { ROOT_AUTH, removeDir, startServer } from '../../test/harness.ts';
import type { BenchResult } from '../run.ts';
import { peakRss } from '../lib/server-client.ts';

const BATCH = 1000;

function post(agent: Agent, url: URL, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/v1/logs',
        method: 'POST',
        headers: {
          'content-type': 'application/x-protobuf',
          authorization: ROOT_AUTH,
          'content-length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function run(args: Record<string, string>): Promise<BenchResult> {
  const total = Number(args.records ?? 1_000_000);
  const clients = Number(args.clients ?? 4);
  const batches: Uint8Array[] = [];
  for (let k = 0; k < 8; k++)
    batches.push(
      (
        await encodeLogs(realisticLogRecords(BATCH), {
          resource: { 'service.name': `svc-${k}`, 'host.name': `node-${k}` },
        })
      ).proto,
    );
  const avgBytes = batches.reduce((n, b) => n + b.length, 0) / batches.length;
  const env: Record<string, string> = {};
  // --env KEY=VALUE,KEY=VALUE passes server settings, e.g. MOLESIGNAL_MEMTABLE_MAX_ROWS=250000
  for (const kv of (args.env ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (k && v !== undefined) env[k] = v;
  }
  const server = await startServer({ env, nodeArgs: args['node-args'] ? args['node-args'].split(' ') : [] });
  const url = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let sentBatches = 0;
  let wireBytes = 0;
  const nBatches = Math.ceil(total / BATCH);
  const progress = setInterval(
    () => process.stderr.write(`\r  sent ${sentBatches * BATCH} / ${nBatches * BATCH} records`),
    1000,
  );
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (sentBatches < nBatches) {
        const body = batches[sentBatches % batches.length]!;
        sentBatches++;
        wireBytes += body.length;
        latencies.push(await post(agent, url, body));
      }
    }),
  );
  const sentMs = performance.now() - started;
  let visible = 0;
  while (visible < nBatches * BATCH) {
    visible = Number((await server.search('SELECT count(*) AS c FROM logs.default')).hits[0]!.c);
  }
  const queryableMs = performance.now() - started;
  clearInterval(progress);
  process.stderr.write('\n');
  const rss = peakRss(server.proc.pid!);
  agent.destroy();
  await server.stop();
  await removeDir(server.dataDir);
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const records = nBatches * BATCH;
  return {
    title: 'otlp-logs: OTLP/HTTP protobuf log ingest until queryable',
    workload: `${records.toLocaleString('en')} records (~${Math.round(avgBytes / BATCH)} B each on the wire, 8 attributes, realistic HTTP access-log bodies) in batches of ${BATCH}, ${clients} concurrent keep-alive clients, wal.fsync=batch (group commit), server --max-old-space-size=768`,
    figures: {
      'records/s until queryable': Math.round(records / (queryableMs / 1000)).toLocaleString('en'),
      'records/s acknowledged (send phase)': Math.round(records / (sentMs / 1000)).toLocaleString('en'),
      'MB/s (protobuf on the wire)': (wireBytes / 1e6 / (queryableMs / 1000)).toFixed(1),
      'ack latency p50 / p99': `${p(0.5).toFixed(1)} ms / ${p(0.99).toFixed(1)} ms`,
      'peak server RSS': `${(rss / 2 ** 20).toFixed(0)} MiB`,
    },
  };
}
