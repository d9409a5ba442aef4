/**
 * A trace search reads its candidate traces in chunks of at most `query.traceSearchMaxSpans` spans
 * (a 1 M-span search used to end the server, then to be refused): a window holding more spans is
 * answered chunk by chunk, the search stops once `limit` traces matched (Tempo's block order, the
 * lowest trace ids first), only a single trace bigger than a chunk is a 400 that says what to do,
 * and a long trace is read whole even when its root started hours before `start`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';

const START_S = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY_S = 86_400;
const A = 'aaf7651916cd43dd8448eb211c80319c';
const B = '1bf7651916cd43dd8448eb211c80319c';
/** 50 spans: more than the limit of 40 on its own */
const BIG = 'c0f7651916cd43dd8448eb211c80319c';
/** its root starts 3 h before its other spans */
const LONG = 'd0f7651916cd43dd8448eb211c80319c';
let server: ServerProcess;

/** One trace as OTLP/JSON: a root `GET /checkout` at `rootS`, then a `step-i` span at each of `stepsS`. */
function traceBody(traceId: string, rootS: number, stepsS: number[]): string {
  const span = (i: number, s: number) => ({
    traceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    ...(i > 0 ? { parentSpanId: '0000000000000001' } : {}),
    name: i === 0 ? 'GET /checkout' : `step-${i}`,
    kind: i === 0 ? 2 : 1,
    startTimeUnixNano: String(BigInt(s) * 1_000_000_000n),
    endTimeUnixNano: String(BigInt(s) * 1_000_000_000n + 5_000_000n),
  });
  const spans = [span(0, rootS), ...stepsS.map((s, i) => span(i + 1, s))];
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  });
}
const seconds = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

before(async () => {
  server = await startServer({ env: { MOLESIGNAL_QUERY_TRACE_SEARCH_MAX_SPANS: '40' } });
  for (const body of [
    traceBody(A, START_S, seconds(START_S + 1, 29)),
    traceBody(B, START_S, seconds(START_S + 1, 29)),
    traceBody(BIG, START_S + 3 * DAY_S, seconds(START_S + 3 * DAY_S + 1, 49)),
    traceBody(LONG, START_S + DAY_S - 3 * 3600, seconds(START_S + DAY_S, 5)),
  ]) {
    const res = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(res.status, 200, await res.text());
  }
});

after(async () => {
  await server?.stop();
});

interface Answer {
  traces: { traceID: string; rootTraceName?: string; startTimeUnixNano: string; durationMs?: number }[];
  metrics: { inspectedTraces: number; inspectedSpans: number };
}

async function search(
  q: string,
  start: number,
  end: number,
  limit?: number,
): Promise<{ status: number; text: string }> {
  const params = new URLSearchParams({ q, start: String(start), end: String(end) });
  if (limit !== undefined) params.set('limit', String(limit));
  const res = await server.fetch(`/api/search?${params.toString()}`);
  return { status: res.status, text: await res.text() };
}

test('a window holding more spans than a chunk is answered chunk by chunk', async () => {
  // 60 spans start in the window, 30 per trace: two chunks of one trace each
  const r = await search('{ resource.service.name = "shop" }', START_S, START_S + 60);
  assert.equal(r.status, 200, r.text);
  const a = JSON.parse(r.text) as Answer;
  assert.deepEqual(a.traces.map((t) => t.traceID).sort(), [B, A].sort());
  assert.deepEqual(a.metrics, { ...a.metrics, inspectedTraces: 2, inspectedSpans: 60 });
});

test('the search stops at limit, in block order (the lowest trace id first)', async () => {
  const r = await search('{ }', START_S, START_S + 60, 1);
  assert.equal(r.status, 200, r.text);
  const a = JSON.parse(r.text) as Answer;
  assert.deepEqual(
    a.traces.map((t) => t.traceID),
    [B],
  );
  assert.equal(a.metrics.inspectedTraces, 1);
  assert.equal(a.metrics.inspectedSpans, 30);
});

test('one trace with more spans in the window than a chunk is a 400 naming it; a narrower window is answered', async () => {
  const r = await search('{ }', START_S + 3 * DAY_S, START_S + 3 * DAY_S + 60);
  assert.equal(r.status, 400, r.text);
  assert.match(
    r.text,
    new RegExp(
      `trace ${BIG} has 50 spans in the search window, more than query\\.traceSearchMaxSpans \\(40\\)`,
    ),
  );
  assert.match(r.text, /narrow start\/end or raise the limit/);
  assert.equal((await server.fetch('/healthz', { auth: null })).status, 200);
  // the window starts an hour before `start`: this end leaves 30 of its spans in it
  const narrow = await search('{ }', START_S + 3 * DAY_S + 20, START_S + 3 * DAY_S + 29);
  assert.equal(narrow.status, 200, narrow.text);
  const a = JSON.parse(narrow.text) as Answer;
  assert.deepEqual(
    a.traces.map((t) => t.traceID),
    [BIG],
  );
  // read whole within an hour of the window: all 50 spans
  assert.equal(a.metrics.inspectedSpans, 50);
});

test('a trace whose root started hours before the window is read whole', async () => {
  const r = await search('{ name = "step-3" }', START_S + DAY_S, START_S + DAY_S + 60);
  assert.equal(r.status, 200, r.text);
  const [t, ...rest] = (JSON.parse(r.text) as Answer).traces;
  assert.equal(rest.length, 0, r.text);
  assert.equal(t!.traceID, LONG);
  assert.equal(t!.rootTraceName, 'GET /checkout');
  assert.equal(t!.startTimeUnixNano, String(BigInt(START_S + DAY_S - 3 * 3600) * 1_000_000_000n));
  assert.equal(t!.durationMs, 3 * 3600 * 1000 + 4 * 1000 + 5);
});
