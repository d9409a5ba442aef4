/**
 * The Jaeger and Zipkin query APIs stay within a memory bound on a store of many traces: a search
 * picks its trace ids in SQL (newest first, at most `limit`) and reads only those traces' spans, in
 * chunks of at most `query.traceSearchMaxSpans` spans; dependencies are computed in SQL and read
 * no span into memory. Counted by `molesignal_trace_spans_read_total` (spans read into memory),
 * not timed. Dependencies are checked against a hand-computed answer on a small data set with
 * traces spread over two streams (memtable and Parquet), a missing parent, a parent outside the
 * window, a span without `service.name` and span ids reused across traces.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';

const T = 1_767_225_600; // 2026-01-01T00:00:00Z, seconds
const BULK_T = T + 86_400; // the bulk traces, a day later
const BIG_T = T + 2 * 86_400; // one trace bigger than a chunk
const MAX_SPANS = 50;
const BULK_TRACES = 300;
const SPANS_PER_BULK = 4;
let server: ServerProcess;

interface SpanIn {
  trace: string;
  id: number;
  parent?: number;
  /** no service.name when undefined */
  service?: string;
  atS: number;
  name?: string;
  attrs?: Record<string, number>;
}

const tid = (n: number) => n.toString(16).padStart(32, '0');
const sid = (n: number) => n.toString(16).padStart(16, '0');

/** OTLP/JSON, one resource per span */
function body(spans: SpanIn[]): string {
  return JSON.stringify({
    resourceSpans: spans.map((s) => ({
      resource: {
        attributes: s.service ? [{ key: 'service.name', value: { stringValue: s.service } }] : [],
      },
      scopeSpans: [
        {
          spans: [
            {
              traceId: s.trace,
              spanId: sid(s.id),
              ...(s.parent !== undefined ? { parentSpanId: sid(s.parent) } : {}),
              name: s.name ?? 'op',
              kind: 2,
              startTimeUnixNano: String(BigInt(s.atS) * 1_000_000_000n),
              endTimeUnixNano: String(BigInt(s.atS) * 1_000_000_000n + 1_000_000n),
              attributes: Object.entries(s.attrs ?? {}).map(([key, v]) => ({
                key,
                value: { intValue: String(v) },
              })),
            },
          ],
        },
      ],
    })),
  });
}

async function send(stream: string, spans: SpanIn[]): Promise<void> {
  const res = await server.fetch('/v1/traces', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stream-name': stream },
    body: body(spans),
  });
  assert.equal(res.status, 200, await res.text());
}

async function spansRead(): Promise<number> {
  const text = await (await server.fetch('/metrics')).text();
  const m = /^molesignal_trace_spans_read_total (\d+)$/m.exec(text);
  assert.ok(m, 'molesignal_trace_spans_read_total is exported');
  return Number(m[1]);
}

/** The answer of `path` and the spans it read into memory. */
async function measured(path: string): Promise<{ status: number; json: unknown; read: number }> {
  const before = await spansRead();
  const res = await server.fetch(path);
  const text = await res.text();
  return {
    status: res.status,
    json: res.status === 200 ? JSON.parse(text) : text,
    read: (await spansRead()) - before,
  };
}

const X = tid(0xa1);
const Y = tid(0xa2);
const Z = tid(0xa3);
const W = tid(0xa4);

before(async () => {
  server = await startServer({ env: { MOLESIGNAL_QUERY_TRACE_SEARCH_MAX_SPANS: String(MAX_SPANS) } });
  // small data set: two streams, s1 flushed to Parquet, s2 in its memtable
  await send('s1', [
    { trace: X, id: 1, service: 'frontend', atS: T },
    { trace: X, id: 2, parent: 1, service: 'api', atS: T + 1 }, // frontend → api
    { trace: X, id: 4, parent: 2, service: 'api', atS: T + 2 }, // same service: not a call
    { trace: Y, id: 2, parent: 1, service: 'api', atS: T + 4 }, // frontend (in s2) → api
    { trace: W, id: 2, parent: 1, service: 'api', atS: T + 5 }, // parent outside the window
  ]);
  const flushed = await server.fetch('/api/default/streams/s1/_flush?type=traces', { method: 'POST' });
  assert.ok(flushed.status < 300, await flushed.text());
  await send('s2', [
    { trace: X, id: 3, parent: 2, service: 'db', atS: T + 3 }, // api (in s1) → db
    { trace: X, id: 5, parent: 0xff, service: 'db', atS: T + 3 }, // missing parent
    { trace: Y, id: 1, service: 'frontend', atS: T + 3 },
    { trace: Y, id: 3, parent: 2, atS: T + 5 }, // api → unknown_service
    { trace: Z, id: 2, parent: 1, service: 'db', atS: T + 6 }, // span 1 of Z does not exist
    { trace: W, id: 1, service: 'frontend', atS: T - 7200 },
  ]);
  // many traces a day later: a root in `bulk` and three children in `bulkdb`, one a second
  const bulk: SpanIn[] = [];
  for (let i = 0; i < BULK_TRACES; i++) {
    const trace = tid(0x1000 + i);
    bulk.push({ trace, id: 1, service: 'bulk', atS: BULK_T + i, name: 'root', attrs: { n: i } });
    for (let c = 2; c <= SPANS_PER_BULK; c++)
      bulk.push({ trace, id: c, parent: 1, service: 'bulkdb', atS: BULK_T + i, name: 'query' });
  }
  await send('bulk', bulk);
  // one trace of 60 spans, more than a chunk
  await send(
    'bulk',
    Array.from({ length: 60 }, (_, i) => ({
      trace: tid(0xb16),
      id: i + 1,
      ...(i > 0 ? { parent: 1 } : {}),
      service: 'big',
      atS: BIG_T,
    })),
  );
});

after(async () => {
  await server?.stop();
});

const sortDeps = (d: { parent: string; child: string; callCount: number }[]) =>
  [...d].sort((a, b) => a.parent.localeCompare(b.parent) || a.child.localeCompare(b.child));

test('dependencies in SQL: cross-stream parents, missing and out-of-window parents, no service.name', async () => {
  const range = `endTs=${(T + 60) * 1000}&lookback=${3600 * 1000}`;
  const want = [
    { parent: 'api', child: 'db', callCount: 1 },
    { parent: 'api', child: 'unknown_service', callCount: 1 },
    { parent: 'frontend', child: 'api', callCount: 2 },
  ];
  const jaeger = await measured(`/jaeger/api/dependencies?${range}`);
  assert.equal(jaeger.status, 200);
  assert.deepEqual(sortDeps((jaeger.json as { data: typeof want }).data), want);
  assert.equal(jaeger.read, 0, 'dependencies read no span into memory');
  const zipkin = await measured(`/api/v2/dependencies?${range}`);
  assert.equal(zipkin.status, 200);
  assert.deepEqual(sortDeps(zipkin.json as typeof want), want);
  assert.equal(zipkin.read, 0);
  // a window that also holds W's root: its call counts too
  const wide = await measured(
    `/jaeger/api/dependencies?endTs=${(T + 60) * 1000}&lookback=${3 * 3600 * 1000}`,
  );
  assert.deepEqual(sortDeps((wide.json as { data: typeof want }).data), [
    want[0],
    want[1],
    { parent: 'frontend', child: 'api', callCount: 3 },
  ]);
});

test('dependencies over many traces read no span into memory', async () => {
  const r = await measured(`/api/v2/dependencies?endTs=${(BULK_T + 3600) * 1000}&lookback=${3600 * 1000}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, [
    { parent: 'bulk', child: 'bulkdb', callCount: BULK_TRACES * (SPANS_PER_BULK - 1) },
  ]);
  assert.equal(r.read, 0);
});

interface JaegerAnswer {
  data: { traceID: string; spans: { startTime: number }[] }[];
}

/** the trace ids of the `n` newest bulk traces */
const newest = (n: number) => Array.from({ length: n }, (_, i) => tid(0x1000 + BULK_TRACES - 1 - i));
const bulkRange = `start=${BULK_T * 1_000_000}&end=${(BULK_T + 3600) * 1_000_000}`;

test('a Jaeger search with limit 5 over many traces reads those 5 traces only, newest first', async () => {
  for (const q of ['service=bulk&', 'service=bulkdb&operation=query&', '']) {
    const r = await measured(`/jaeger/api/traces?${q}${bulkRange}&limit=5`);
    assert.equal(r.status, 200, String(r.json));
    const a = r.json as JaegerAnswer;
    assert.deepEqual(
      a.data.map((t) => t.traceID),
      newest(5),
      q,
    );
    for (const t of a.data) assert.equal(t.spans.length, SPANS_PER_BULK);
    assert.equal(r.read, 5 * SPANS_PER_BULK, `${q}: spans read`);
    assert.ok(r.read <= MAX_SPANS);
  }
  // a tag on a span attribute, pushed down: the one trace, and only its spans read
  const tag = await measured(
    `/jaeger/api/traces?service=bulk&tags=${encodeURIComponent('{"n":"7"}')}&${bulkRange}&limit=5`,
  );
  assert.deepEqual(
    (tag.json as JaegerAnswer).data.map((t) => t.traceID),
    [tid(0x1000 + 7)],
  );
  assert.equal(tag.read, SPANS_PER_BULK);
  // a limit beyond a chunk: read in chunks of at most MAX_SPANS spans, all of the answer
  const many = await measured(`/jaeger/api/traces?service=bulk&${bulkRange}&limit=40`);
  assert.deepEqual(
    (many.json as JaegerAnswer).data.map((t) => t.traceID),
    newest(40),
  );
  assert.equal(many.read, 40 * SPANS_PER_BULK);
});

test('a Zipkin search with limit 5 over many traces reads those 5 traces only, newest first', async () => {
  const r = await measured(
    `/api/v2/traces?serviceName=bulk&endTs=${(BULK_T + 3600) * 1000}&lookback=${3600 * 1000}&limit=5`,
  );
  assert.equal(r.status, 200, String(r.json));
  const traces = r.json as { traceId: string }[][];
  assert.deepEqual(
    traces.map((t) => t[0]!.traceId),
    newest(5),
  );
  assert.equal(r.read, 5 * SPANS_PER_BULK);
});

test('a trace with more spans than a chunk is a 400 that says what to do', async () => {
  const r = await measured(
    `/jaeger/api/traces?service=big&start=${BIG_T * 1_000_000}&end=${(BIG_T + 60) * 1_000_000}&limit=5`,
  );
  assert.equal(r.status, 400);
  assert.match(String(r.json), /more than query\.traceSearchMaxSpans \(50\).*narrow/);
  assert.equal(r.read, 0);
});
