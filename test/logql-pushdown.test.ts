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

/**
 * A generated set for the unwrap aggregations: three streams of flat JSON lines (`kind="clean"`,
 * some timestamps shared by two streams, some lines without the key or with null), one with
 * non-JSON lines, nested values and values that do not convert (`kind="dirty"`), one with lines
 * that cannot hold the unwrapped field among JSON lines (`kind="mixed"`).
 */
function unwrapPush(): string {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const streams = [
    { job: 'gen', kind: 'clean', host: 'h1', service: 'a' },
    { job: 'gen', kind: 'clean', host: 'h2', service: 'a' },
    { job: 'gen', kind: 'clean', host: 'h3', service: 'b' },
    { job: 'gen', kind: 'dirty', host: 'h4', service: 'b' },
    { job: 'gen', kind: 'mixed', host: 'h5', service: 'c' },
  ].map((stream, h) => {
    const values: [string, string][] = [];
    for (let k = 0; k < 90; k++) {
      // h1 and h2 share their timestamps every 10th line (ties between streams)
      const jitter = h < 2 && k % 10 === 0 ? 0n : BigInt(Math.floor(rand() * 6e9));
      const ts = T0 + BigInt(k) * 6_000_000_000n + jitter;
      const level = rand() < 0.8 ? 'info' : 'error';
      const r = rand();
      const duration = r < 0.4 ? String(Math.floor(rand() * 500)) : (rand() * 1000).toFixed(2);
      let line = `{"level":"${level}","status":${r < 0.9 ? 200 : 500},"duration_ms":${duration},"msg":"m${k % 7}"}`;
      if (r > 0.95) line = `{"level":"${level}","status":200,"msg":"no duration"}`;
      else if (r > 0.93) line = `{"level":"${level}","status":200,"duration_ms":null}`;
      if (stream.kind === 'dirty') {
        if (k % 5 === 1) line = `plain text duration_ms=${duration}`;
        if (k % 5 === 2) line = `{"level":"info","duration_ms":"${k % 2 ? 'abc' : duration}"}`;
        if (k % 5 === 3)
          line = `{"level":"info","nested":{"duration_ms":${duration}},"duration_ms":${duration}}`;
      }
      if (stream.kind === 'mixed') {
        // lines that cannot hold the field: no sample, whatever they are
        if (k % 4 === 1) line = `plain text line ${k} status=500 took 3ms`;
        if (k % 4 === 2) line = `{"level":"info","status":1.50,"msg":"no field","x":{"y":1}}`;
      }
      values.push([String(ts), line]);
    }
    return { stream, values };
  });
  return JSON.stringify({ streams });
}

const UNWRAP = '| json | unwrap duration_ms';
const CLEAN = `{job="gen", kind="clean"} ${UNWRAP}`;
const UNWRAP_QUERIES = [
  `quantile_over_time(0.9, ${CLEAN} [2m]) by (service)`,
  `quantile_over_time(0.5, ${CLEAN} [30s]) by (host)`,
  `quantile_over_time(0.99, ${CLEAN} [1m]) by (service, level)`,
  `quantile_over_time(1.5, ${CLEAN} [1m]) by (service)`,
  `quantile_over_time(-1, ${CLEAN} [1m]) by (service)`,
  `sum by (host) (sum_over_time(${CLEAN} [2m]))`,
  `sum by (service) (sum_over_time(${CLEAN} [30s]))`,
  `avg_over_time(${CLEAN} [1m]) by (service)`,
  `min_over_time(${CLEAN} [90s]) by (level)`,
  `max_over_time({job="gen", kind="clean"} | json | status="200" | unwrap duration_ms [1m]) by (host)`,
  `stddev_over_time(${CLEAN} [2m]) by (service)`,
  `stdvar_over_time(${CLEAN} [1m]) by (host)`,
  `first_over_time(${CLEAN} [2m]) by (service)`,
  `last_over_time(${CLEAN} [1m]) by (host)`,
  `last_over_time(${CLEAN} [1m]) by (service)`,
  `sum by (service) (rate(${CLEAN} [2m]))`,
  `max_over_time(${CLEAN} [1m]) without (host)`,
  `avg_over_time({job="gen"} ${UNWRAP} | __error__="" [2m]) by (service)`,
  `sum by (service) (sum_over_time({job="gen"} ${UNWRAP} [2m]))`,
  `quantile_over_time(0.9, {job="gen", kind="dirty"} ${UNWRAP} [2m]) by (host)`,
  `quantile_over_time(0.9, {job="gen", kind=~"clean|mixed"} ${UNWRAP} [2m]) by (service)`,
  `sum by (status) (sum_over_time({job="gen", kind="mixed"} ${UNWRAP} [1m]))`,
  `last_over_time({job="gen", kind="mixed"} | json | level="info" | unwrap duration_ms [30s]) by (host)`,
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
    await push(s, unwrapPush());
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

/** Sample values within 1e-9 relative, as the conformance comparison takes them. */
function valuesAgree(x: string, y: string): boolean {
  if (x === y) return true;
  const [a, b] = [Number(x), Number(y)];
  return (
    Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
  );
}

/**
 * `got` with each sample value replaced by `want`'s where they agree (float sums and quantile
 * interpolation in SQL may differ from the line path's in the last bits), so that deepEqual
 * reports only real differences.
 */
function withAgreeingValues(got: unknown, want: unknown): unknown {
  if (Array.isArray(got) && Array.isArray(want)) {
    if (got.length === 2 && typeof got[1] === 'string' && typeof want[1] === 'string' && got[0] === want[0]) {
      return valuesAgree(got[1], want[1]) ? want : got;
    }
    return got.map((g, k) => withAgreeingValues(g, want[k]));
  }
  if (got !== null && typeof got === 'object' && want !== null && typeof want === 'object') {
    const w = want as Record<string, unknown>;
    return Object.fromEntries(Object.entries(got).map(([k, v]) => [k, withAgreeingValues(v, w[k])]));
  }
  return got;
}

async function same(path: string): Promise<void> {
  const [a, b] = await Promise.all([answer(on, path), answer(off, path)]);
  assert.deepEqual(withAgreeingValues(a, b), b, `pushdown on and off differ for ${decodeURIComponent(path)}`);
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

test('unwrap range aggregations over a generated set: pushdown on = off', async () => {
  for (const q of UNWRAP_QUERIES) {
    for (const step of ['60', '20']) {
      const params = new URLSearchParams({
        query: q,
        start: String(T0 + 60_000_000_000n),
        end: String(T0 + 540_000_000_000n),
        step,
      });
      await same(`/loki/api/v1/query_range?${params.toString()}`);
    }
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
