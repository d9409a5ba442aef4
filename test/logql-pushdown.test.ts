/**
 * The metric pushdown (SQL aggregations, logql.pushdown) gives the answers of the line path: every
 * recorded conformance query, and `| json` queries over lines made to trip each proof the SQL path
 * relies on (duplicate keys, nested and lookalike keys, NaN, trailing commas, -0, 1.50, escapes),
 * run against two real servers holding the same rows (memtables and Parquet), one with the
 * pushdown off and every body stored as it came (the other stores flat JSON lines as columns).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { removeDir, sharedOrSkip, startServer, type ServerProcess } from './harness.ts';

const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

/** Lines around the SQL path's proofs; each stream label set once with `service`, once without. */
const TRICKY = [
  '{"status":200,"duration_ms":12.50,"level":"info"}',
  '{"status":200,"status":500,"duration_ms":1}',
  '{"status":-0,"duration_ms":3}',
  '{"status":1.50,"duration_ms":1e3}',
  '{"status":"ok","duration_ms":"12"}',
  '{"status":true,"duration_ms":true}',
  '{"status":null,"duration_ms":null}',
  '{"status":[1,2],"duration_ms":[1]}',
  '{"status":"","duration_ms":""}',
  '{"status":201,"duration_ms":2,}',
  '{"status":202,"duration_ms":nan}',
  '{"status":203,"x":Infinity,"duration_ms":4}',
  '{"status":"a\\"b","duration_ms":5}',
  '{"a":{"status":204},"duration_ms":6}',
  '{"":{"status":205},"duration_ms":7}',
  '{" status":206,"duration":{"ms":8}}',
  '{"status ":207,"duration-ms":9}',
  '{"msg":"status","status":208,"duration_ms":10}',
  '{"service":"from-json","status":209,"duration_ms":11}',
  '{"status":18446744073709551616,"duration_ms":1e400}',
  ' {"status":210,"duration_ms":12}',
  '{"status":211,"duration_ms":13} trailing',
  'not json at all status=212',
  '',
  '{"status":"x y","duration_ms":-1.25e-3}',
];

const TRICKY_QUERIES = [
  'sum by (status) (count_over_time({job="tricky"} | json [10m]))',
  'sum by (status) (count_over_time({job="tricky"} | json | __error__="" [10m]))',
  'sum by (status, service) (count_over_time({job="tricky"} | json | __error__="" [10m]))',
  'sum by (status) (bytes_over_time({job="tricky"} | json | status=~"2.." [10m]))',
  'sum by (duration_ms) (rate({job="tricky"} | json | __error__="" | status!="ok" [10m]))',
  'sum(count_over_time({job="tricky"} |= "status" != "nan" [5m]))',
  'sum by (host) (count_over_time({job="tricky"} |~ "\\"status\\":2[0-9]+" [10m]))',
  'sum_over_time({job="tricky"} | json | unwrap duration_ms | __error__="" [10m]) by (status)',
  'quantile_over_time(0.5, {job="tricky"} | json | unwrap duration_ms [10m]) by (service)',
  'max_over_time({job="tricky"} | json | __error__="" | unwrap duration_ms [10m]) by (host)',
  'first_over_time({job="tricky"} | json | unwrap duration_ms | __error__="" [10m]) by (status)',
];

function trickyPush(): string {
  const streams = [];
  for (const [h, labels] of [
    { job: 'tricky', host: 'h1', service: 'svc' },
    { job: 'tricky', host: 'h2' },
  ].entries()) {
    streams.push({
      stream: labels,
      values: TRICKY.map((line, k) => [String(T0 + BigInt(k * 10 + h) * 1_000_000_000n), line]),
    });
  }
  return JSON.stringify({ streams });
}

let on: ServerProcess;
let off: ServerProcess;
let conformanceDir: string | null = null;

async function push(s: ServerProcess, body: Buffer | string): Promise<void> {
  const r = await s.fetch('/loki/api/v1/push', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.status, 204, await r.text());
}

async function flush(s: ServerProcess): Promise<void> {
  const r = await s.fetch('/api/default/streams/default/_flush?type=logs', { method: 'POST' });
  assert.ok(r.ok, await r.text());
}

before(async () => {
  const env = { MOLESIGNAL_LOGQL_MAX_QUERY_SERIES: '100000' };
  [on, off] = await Promise.all([
    startServer({ env }),
    // the reference: the JS pipeline over bodies stored as they came (no JSON columns)
    startServer({
      env: { ...env, MOLESIGNAL_LOGQL_PUSHDOWN: 'false', MOLESIGNAL_STREAMS_JSON_COLUMNS: 'false' },
    }),
  ]);
  try {
    conformanceDir = sharedOrSkip({ skip: () => {} }, 'conformance/logql');
  } catch {
    conformanceDir = null;
  }
  for (const s of [on, off]) {
    // the tricky lines half in Parquet, half in the memtable
    await push(s, trickyPush());
    await flush(s);
    if (conformanceDir) await push(s, gunzipSync(await readFile(join(conformanceDir, 'data.json.gz'))));
    await push(
      s,
      JSON.stringify({
        streams: [
          {
            stream: { job: 'tricky', host: 'h3' },
            values: TRICKY.map((line, k) => [String(T0 + BigInt(k * 10 + 5) * 1_000_000_000n), line]),
          },
        ],
      }),
    );
  }
});

after(async () => {
  for (const s of [on, off]) {
    if (!s) continue;
    await s.stop();
    await removeDir(s.dataDir);
  }
});

async function answer(s: ServerProcess, path: string): Promise<{ status: number; result: unknown }> {
  const r = await s.fetch(path);
  const text = await r.text();
  if (!r.ok) return { status: r.status, result: text };
  const result = (JSON.parse(text) as { data: { result: unknown } }).data.result;
  // series order is only meaningful after sort/topk/bottomk (as in the conformance comparison)
  if (Array.isArray(result) && !/sort|topk|bottomk/.test(decodeURIComponent(path))) {
    const key = (x: { metric?: unknown; stream?: unknown }) => JSON.stringify(x.metric ?? x.stream ?? null);
    (result as { metric?: unknown }[]).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }
  return { status: r.status, result };
}

async function same(path: string): Promise<void> {
  const [a, b] = await Promise.all([answer(on, path), answer(off, path)]);
  assert.deepEqual(a, b, `pushdown on and off differ for ${decodeURIComponent(path)}`);
}

test('| json queries over lines that trip each proof: pushdown on = off', async () => {
  for (const q of TRICKY_QUERIES) {
    const params = new URLSearchParams({
      query: q,
      start: String(T0),
      end: String(T0 + 600_000_000_000n),
      step: '60',
    });
    await same(`/loki/api/v1/query_range?${params.toString()}`);
    await same(
      `/loki/api/v1/query?${new URLSearchParams({ query: q, time: String(T0 + 300_000_000_000n) }).toString()}`,
    );
  }
});

test('every recorded conformance query: pushdown on = off', async (t) => {
  const dir = sharedOrSkip(t, 'conformance/logql');
  if (!dir) return;
  const queries = JSON.parse(await readFile(join(dir, 'queries.json'), 'utf8')) as {
    id: string;
    type: 'range' | 'instant';
    query: string;
    start?: string;
    end?: string;
    step?: string;
    time?: string;
  }[];
  for (const q of queries) {
    const params: Record<string, string> = { query: q.query };
    for (const k of ['start', 'end', 'step', 'time'] as const) if (q[k] !== undefined) params[k] = q[k];
    const path = q.type === 'instant' ? '/loki/api/v1/query' : '/loki/api/v1/query_range';
    await same(`${path}?${new URLSearchParams(params).toString()}`);
  }
});
