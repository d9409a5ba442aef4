/**
 * A trace search reads every span of its window into memory: a window holding more spans than
 * `query.traceSearchMaxSpans` is a 400 that says what to do, not an out-of-memory crash (a 1 M-span
 * search used to end the server), and the server keeps answering.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';

const START_S = 1_767_225_600; // 2026-01-01T00:00:00Z
let server: ServerProcess;

/** `n` spans of one trace, one second apart, as OTLP/JSON. */
function traceBody(traceId: string, n: number): string {
  const spans = Array.from({ length: n }, (_, i) => ({
    traceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    ...(i > 0 ? { parentSpanId: '0000000000000001' } : {}),
    name: i === 0 ? 'GET /checkout' : `step-${i}`,
    kind: i === 0 ? 2 : 1,
    startTimeUnixNano: String(BigInt(START_S + i) * 1_000_000_000n),
    endTimeUnixNano: String(BigInt(START_S + i) * 1_000_000_000n + 5_000_000n),
  }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  });
}

before(async () => {
  server = await startServer({ env: { MOLESIGNAL_QUERY_TRACE_SEARCH_MAX_SPANS: '40' } });
  for (const [id, n] of [
    ['aaf7651916cd43dd8448eb211c80319c', 30],
    ['1bf7651916cd43dd8448eb211c80319c', 30],
  ] as const) {
    const res = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: traceBody(id, n),
    });
    assert.equal(res.status, 200, await res.text());
  }
});

after(async () => {
  await server?.stop();
});

const search = (start: number, end: number) =>
  server.fetch(
    `/api/search?${new URLSearchParams({ q: '{ resource.service.name = "shop" }', start: String(start), end: String(end) }).toString()}`,
  );

test('a search window over the span limit is a 400 naming the limit; the server keeps answering', async () => {
  const res = await search(START_S, START_S + 60);
  const text = await res.text();
  assert.equal(res.status, 400, text);
  assert.match(text, /the search window holds 60 spans, more than query\.traceSearchMaxSpans \(40\)/);
  assert.match(text, /narrow start\/end/);
  assert.equal((await server.fetch('/healthz', { auth: null })).status, 200);
});

test('a window under the limit is answered', async () => {
  // spans starting in [start - 1 h, end + 1 s) are read: 11 of each trace here
  const res = await search(START_S, START_S + 10);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const ids = (JSON.parse(text) as { traces: { traceID: string }[] }).traces.map((t) => t.traceID).sort();
  assert.deepEqual(ids, ['1bf7651916cd43dd8448eb211c80319c', 'aaf7651916cd43dd8448eb211c80319c']);
});
