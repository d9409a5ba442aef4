/**
 * PromQL query limits over the HTTP API: the sample limit → 422 `execution`, the timeout → 503
 * `timeout`, and the server stays responsive after either.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufWriter as W } from '../src/lib/protobuf-writer.ts';
import { snappyCompress } from '../src/lib/snappy.ts';
import { startServer, type ServerProcess } from './harness.ts';

const T0 = 1_700_000_000_000;

async function loaded(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServer({ env });
  const req = new W();
  for (let s = 0; s < 20; s++) {
    const ts = new W()
      .message(1, new W().string(1, '__name__').string(2, 'load'))
      .message(1, new W().string(1, 'i').string(2, String(s)));
    for (let i = 0; i < 200; i++) ts.message(2, new W().double(1, i).uint(2, T0 + i * 15_000));
    req.message(1, ts);
  }
  const res = await server.fetch('/api/v1/write', {
    method: 'POST',
    headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' },
    body: snappyCompress(req.finish()),
  });
  assert.equal(res.status, 204);
  return server;
}

describe('PromQL limits', () => {
  let server: ServerProcess;
  let slow: ServerProcess;
  before(async () => {
    server = await loaded({ MOLESIGNAL_QUERY_MAX_SAMPLES: '1000' });
    slow = await loaded({ MOLESIGNAL_QUERY_TIMEOUT_MS: '300' });
  });
  after(async () => {
    await server.stop();
    await slow.stop();
  });

  const form = async (path: string, params: Record<string, string>, target = server) => {
    const res = await target.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    return {
      status: res.status,
      body: (await res.json()) as { status: string; errorType?: string; error?: string },
    };
  };

  test('over query.maxSamples: 422 execution', async () => {
    const r = await form('/api/v1/query_range', {
      query: 'load',
      start: String(T0 / 1000),
      end: String((T0 + 199 * 15_000) / 1000),
      step: '15',
    });
    assert.equal(r.status, 422);
    assert.equal(r.body.errorType, 'execution');
    assert.match(r.body.error!, /too many samples/);
  });

  test('over query.timeoutMs: 503 timeout, and the server keeps answering', async () => {
    // a subquery evaluated at every step of a long range: far more work than 300 ms allows
    const r = await form(
      '/api/v1/query_range',
      {
        query: 'sum(max_over_time(rate(load[1m])[30m:1s]))',
        start: String(T0 / 1000),
        end: String((T0 + 199 * 15_000) / 1000),
        step: '1',
      },
      slow,
    );
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.errorType, 'timeout');
    const ok = await form(
      '/api/v1/query',
      { query: 'count(load)', time: String((T0 + 100_000) / 1000) },
      slow,
    );
    assert.equal(ok.status, 200);
    assert.equal((await slow.fetch('/healthz', { auth: null })).status, 200);
  });
});
