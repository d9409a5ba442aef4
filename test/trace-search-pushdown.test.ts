/**
 * Trace search pushes a necessary condition of the TraceQL query down to SQL (a spanset's
 * comparisons; `&&`, `||` and structural operators between spansets; a pipeline's head and its
 * `{ … }` stages): only the traces satisfying it are read (`metrics.inspectedTraces`), and the
 * evaluator still decides which of them match.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';

const START_S = 1_767_225_600; // 2026-01-01T00:00:00Z
const A = 'aaf7651916cd43dd8448eb211c80319c';
const B = '1bf7651916cd43dd8448eb211c80319c';
let server: ServerProcess;

/** `n` spans of one trace, one second apart; the last one is `last` (name, http status) */
function traceBody(traceId: string, service: string, n: number, last: string): string {
  const spans = Array.from({ length: n }, (_, i) => ({
    traceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    ...(i > 0 ? { parentSpanId: '0000000000000001' } : {}),
    name: i === 0 ? 'GET /checkout' : i === n - 1 ? last : `step-${i}`,
    kind: i === 0 ? 2 : 1,
    startTimeUnixNano: String(BigInt(START_S + i) * 1_000_000_000n),
    endTimeUnixNano: String(BigInt(START_S + i) * 1_000_000_000n + 5_000_000n),
    attributes: [{ key: 'http.response.status_code', value: { intValue: i === n - 1 ? '500' : '200' } }],
  }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ spans }],
      },
    ],
  });
}

before(async () => {
  server = await startServer({ env: { MOLESIGNAL_QUERY_TRACE_SEARCH_MAX_SPANS: '40' } });
  for (const [id, service, last] of [
    [A, 'payments', "it's charged"],
    [B, 'shop', 'done'],
  ] as const) {
    const res = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: traceBody(id, service, 30, last),
    });
    assert.equal(res.status, 200, await res.text());
  }
});

after(async () => {
  await server?.stop();
});

async function search(q: string, start: number, end: number): Promise<{ status: number; text: string }> {
  const res = await server.fetch(
    `/api/search?${new URLSearchParams({ q, start: String(start), end: String(end) }).toString()}`,
  );
  return { status: res.status, text: await res.text() };
}
const answer = (text: string) =>
  JSON.parse(text) as { traces: { traceID: string }[]; metrics: { inspectedTraces: number } };
const ids = (text: string) => answer(text).traces.map((t) => t.traceID);

test('pushed-down searches read only their candidate traces', async () => {
  for (const [q, want] of [
    ['{ resource.service.name = "payments" }', [A]],
    [`{ name = "it's charged" && span.http.response.status_code = 500 }`, [A]],
    ['{ .http.response.status_code = 500 && name =~ "do.e" } | count() > 0', [B]],
    ['{ span.http.response.status_code = 500.0 }', []],
    ['{ span.absent = "x" }', []],
  ] as const) {
    // 60 spans start in the window, but only the traces in `want` are candidates
    const r = await search(q, START_S, START_S + 60);
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    assert.deepEqual(ids(r.text), want, q);
    assert.equal(answer(r.text).metrics.inspectedTraces, want.length, q);
  }
});

test('a matching span after the window still finds its trace (read whole, as before)', async () => {
  // the window holds spans 0–10 of each trace; the matching span starts at +29 s
  const r = await search('{ name = "done" }', START_S, START_S + 10);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(ids(r.text), [B]);
});

test('spanset operators and pipelines are pushed: candidates only, the evaluator decides', async () => {
  for (const [q, want, inspected] of [
    // both sides needed
    ['{ name = "done" } && { name = "GET /checkout" }', [B], 1],
    ['{ name = "done" } && { span.absent = "x" }', [], 0],
    ['{ name = "GET /checkout" } >> { name = "done" }', [B], 1],
    ['{ name = "GET /checkout" } > { name = "done" }', [B], 1],
    // a candidate the evaluator rejects: "done" is a child of the root, not its parent
    ['{ name = "done" } > { name = "GET /checkout" }', [], 1],
    ['{ name = "done" } !> { name = "GET /checkout" }', [B], 1],
    ['{ name = "GET /checkout" } &>> { span.http.response.status_code = 500 }', [B, A], 2],
    // either side
    [`{ name = "done" } || { name = "it's charged" }`, [B, A], 2],
    ['{ span.absent = "x" } || { name = "done" }', [B], 1],
    // a pipeline: its head, and its { } stages on the same spans
    ['{ name = "GET /checkout" } | { name = "done" }', [], 0],
    ['{ resource.service.name = "shop" } | { span.http.response.status_code = 500 } | count() = 1', [B], 1],
    ['{ span.http.response.status_code = 200 } | count() > 28', [B, A], 2],
    ['{ span.http.response.status_code = 200 } | count() > 29', [], 2],
    // nothing narrows: every trace of the window
    ['{ } | count() = 30', [B, A], 2],
  ] as const) {
    const r = await search(q, START_S, START_S + 60);
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    assert.deepEqual(ids(r.text).sort(), [...want].sort(), q);
    assert.equal(answer(r.text).metrics.inspectedTraces, inspected, q);
  }
});
