/**
 * JSON log lines stored as columns (streams.jsonColumns, docs/logs.md "Storage of JSON lines"):
 * lines pushed through Loki push and flushed come back byte for byte through LogQL, the SQL
 * search API and after a compaction merge, while the files hold the flat JSON lines as columns
 * (body NULL) and every other line verbatim.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { removeDir, startServer, type ServerProcess } from './harness.ts';
import { compact, flush, hourStart, nowNs, postJson, pushBatch } from './compactor-kit.ts';

const SPLIT = [
  '{"level":"info","msg":"GET /api done","status":200,"duration_ms":12}',
  '{ "level" : "warn" , "msg" : "it\'s slow", "status" : 503 , "duration_ms" : 1.50 }',
  '{"level":"error","msg":"héllo wörld ✓ 😀 日本","status":-0,"duration_ms":1e3}',
  '{"level":"","msg":"","ok":true,"x":null,"n":false}',
  '  {"level":"debug","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}\t',
  `{"level":"info","msg":"${'long '.repeat(2000)}"}`,
  '{"status":200,"level":"info","msg":"other key order"}',
];
const KEPT = [
  '{"level":"info","msg":"an \\"escaped\\" quote"}',
  '{"level":"info","msg":"\\u00e9"}',
  '{"level":"info","nested":{"a":1}}',
  '{"level":"info","list":[1,2]}',
  '{"level":"info","level":"dup"}',
  '{"level-x":"odd key"}',
  '{"level":"info",}',
  '{"level":"info"} trailing',
  '{}',
  'plain text line level=info',
  '',
  `{"level":"info","msg":"${'x'.repeat(70000)}"}`,
];
const LINES = [...SPLIT, ...KEPT];

let server: ServerProcess;
let t0: bigint;

before(async () => {
  server = await startServer();
  // two batches, two files of one hour bucket (a compaction merges them)
  t0 = hourStart(nowNs()) - 2n * 3_600_000_000_000n + 60_000_000_000n;
  for (const [b, ts] of [t0, t0 + 1_000_000_000n].entries()) {
    await pushBatch(server, 'jc', { job: 'jc', batch: String(b) }, ts, LINES);
    await flush(server, 'jc');
  }
});

after(async () => {
  await server?.stop();
  if (server) await removeDir(server.dataDir);
});

const expected = [...LINES, ...LINES];

/** The [ts, line] pairs of a LogQL log query, every stream's. */
async function logqlValues(params: Record<string, string>): Promise<[string, string][]> {
  const r = await server.fetch(`/loki/api/v1/query_range?${new URLSearchParams(params).toString()}`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return (JSON.parse(text) as { data: { result: { values: [string, string][] }[] } }).data.result.flatMap(
    (s) => s.values,
  );
}

async function logqlLines(query: string): Promise<string[]> {
  const values = await logqlValues({
    query,
    start: String(t0 - 1n),
    end: String(t0 + 10_000_000_000n),
    limit: '1000',
    direction: 'forward',
  });
  return values
    .sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : BigInt(a[0]) > BigInt(b[0]) ? 1 : 0))
    .map((v) => v[1]);
}

async function searchRows(sql: string): Promise<Record<string, unknown>[]> {
  const r = await postJson(server, '/api/default/_search', { sql, size: 1000 });
  assert.equal(r.status, 200, r.text);
  return (r.json() as { hits: Record<string, unknown>[] }).hits;
}

/** Per local Parquet file of the stream: [rows, rows with body NULL]; null when the store is not local. */
async function storedCounts(): Promise<[number, number][] | null> {
  const dir = join(server.dataDir, 'objects');
  if (!existsSync(dir)) return null;
  const paths: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.parquet') && d.includes('jc')) paths.push(join(d, e.name));
    }
  };
  walk(dir);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const list = paths.map((p) => `'${p}'`).join(', ');
    const r = await conn.runAndReadAll(
      `SELECT count(*)::INTEGER, count(*) FILTER (WHERE body IS NULL)::INTEGER FROM read_parquet([${list}], union_by_name = true, filename = true) GROUP BY filename ORDER BY 1`,
    );
    return r.getRows().map((row) => [row[0] as number, row[1] as number]);
  } finally {
    conn.closeSync();
  }
}

async function checkAll(): Promise<void> {
  assert.deepEqual(await logqlLines('{job="jc"}'), expected);
  // a line filter sees the rebuilt lines
  assert.deepEqual(await logqlLines('{job="jc"} |= "wörld"'), [SPLIT[2]!, SPLIT[2]!]);
  assert.deepEqual(await logqlLines('{job="jc"} |= "4bf92f3577b34da6a3ce929d0e0e4736"'), [
    SPLIT[4]!,
    SPLIT[4]!,
  ]);
  const hits = await searchRows('SELECT * FROM logs."jc"');
  assert.deepEqual(hits.map((h) => h.body as string).sort(), [...expected].sort());
  // the JSON columns are storage: SQL sees the stream's columns as before
  for (const k of Object.keys(hits[0]!)) assert.ok(!k.startsWith('json.') && k !== '_json_shape', k);
  const counted = await searchRows(`SELECT count(*) AS n FROM logs."jc" WHERE body LIKE '%"status":200%'`);
  assert.equal(Number(counted[0]!.n), 4);
  // the search API's `contains`: in a value, in a key, across a value and its quotes
  for (const [needle, want] of [
    ['wörld', [SPLIT[2]!]],
    ['duration_ms', [SPLIT[0]!, SPLIT[1]!, SPLIT[2]!]],
    ['"status" : 503', [SPLIT[1]!]],
  ] as const) {
    const r = await postJson(server, '/api/default/_search', {
      sql: 'SELECT body FROM logs."jc"',
      contains: needle,
    });
    assert.equal(r.status, 200, r.text);
    const got = (r.json() as { hits: { body: string }[] }).hits.map((h) => h.body).sort();
    assert.deepEqual(got, [...want, ...want].sort(), needle);
  }
  // `| json` on split rows: the labels come from the columns
  const params = new URLSearchParams({
    query:
      'sum by (level) (count_over_time({job="jc"} | json | __error__="" | level=~"warn|error|debug" [1h]))',
    time: String(t0 + 10_000_000_000n),
  });
  const r = await server.fetch(`/loki/api/v1/query?${params.toString()}`);
  const body = (await r.json()) as {
    data: { result: { metric: { level: string }; value: [number, string] }[] };
  };
  const counts = Object.fromEntries(body.data.result.map((x) => [x.metric.level, x.value[1]]));
  assert.deepEqual(counts, { warn: '2', error: '2', debug: '2' });
}

test('flat JSON lines are stored as columns, the others verbatim', async () => {
  const c = await storedCounts();
  if (c === null) return; // objects in S3: the stored form is checked with a local store
  assert.deepEqual(c, [
    [LINES.length, SPLIT.length],
    [LINES.length, SPLIT.length],
  ]);
});

test('every line comes back byte for byte: LogQL, SQL, | json', async () => {
  await checkAll();
});

test('a compaction merge keeps the columns and every line', async () => {
  const report = await compact(server);
  assert.ok(
    report.merged.some((m) => m.stream === 'jc' && m.input_files === 2 && m.output_files === 1),
    JSON.stringify(report),
  );
  // the merged file (the inputs stay on disk until their delete is due)
  const c = await storedCounts();
  if (c !== null) assert.deepEqual(c.at(-1), [expected.length, 2 * SPLIT.length]);
  await checkAll();
});

test('a read with a limit whose token-filter ranges miss its first slice', async () => {
  // one file over most of an hour; the rare id's 5-minute slice is far from the newest lines, so
  // the first (newest) slice of the read overlaps the file but none of its ranges
  const rare = '0af7651916cd43dd8448eb211c80319c';
  const h = hourStart(nowNs()) - 3n * 3_600_000_000_000n;
  const minute = 60_000_000_000n;
  const res = await server.fetch('/loki/api/v1/push', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stream-name': 'jc2' },
    body: JSON.stringify({
      streams: [
        {
          stream: { job: 'jc2' },
          values: Array.from({ length: 59 }, (_, i) => [
            String(h + BigInt(i) * minute),
            `{"level":"info","i":${i},"trace_id":"${i === 5 ? rare : `${i}`.padStart(32, 'b')}"}`,
          ]),
        },
      ],
    }),
  });
  assert.equal(res.status, 204, await res.text());
  await flush(server, 'jc2');
  const values = await logqlValues({
    query: `{job="jc2"} |= "${rare}"`,
    start: String(h),
    end: String(h + 3_600_000_000_000n),
    limit: '10',
    direction: 'backward',
  });
  assert.deepEqual(
    values.map((v) => v[1]),
    [`{"level":"info","i":5,"trace_id":"${rare}"}`],
  );
});

test('a delete by line filter rewrites the file: split lines matched on their text, the rest intact', async () => {
  // the split lines holding "wörld" and a kept line holding "escaped", in both batches
  const r = await postJson(server, '/api/default/_delete', {
    stream: 'jc',
    query: '{job="jc"} |~ "wörld|escaped"',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json().rows, 4);
  const left = expected.filter((l) => !l.includes('wörld') && !l.includes('escaped'));
  assert.deepEqual(await logqlLines('{job="jc"}'), left);
  const hits = await searchRows('SELECT body FROM logs."jc"');
  assert.deepEqual(hits.map((h) => h.body as string).sort(), [...left].sort());
});
