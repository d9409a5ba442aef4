/**
 * The compactor on metric samples (their own codec, docs/format/samples.md) and on traces: several
 * flushed files of one hour merge into one, and PromQL (raw samples and rate, through the sample
 * cache that had read the replaced files), SQL and trace lookups answer exactly as before; a
 * delete by time range rewrites sample files without the range.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerProcess } from './harness.ts';
import { remoteWrite } from './prom-write.ts';
import { Ledger, otlpJsonTraces } from './load.ts';
import { compact, flush, postJson, streamStats } from './compactor-kit.ts';

const STEP = 15_000;
// 40 minutes ago, on the hour's grid of 10 minutes: the samples stay in the past
const T0 = Math.floor((Date.now() - 40 * 60_000) / 600_000) * 600_000;

describe('compactor on metrics and traces', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({
      env: { MOLESIGNAL_COMPACTOR_ENABLED: 'false', MOLESIGNAL_LOG_LEVEL: 'warn' },
    });
  });
  after(async () => {
    await server?.stop();
  });

  const promRange = async (query: string) => {
    const r = await server.fetch('/api/v1/query_range', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        query,
        start: String(T0 / 1000),
        end: String((T0 + 30 * 60_000) / 1000),
        step: '15',
      }),
    });
    const body = (await r.json()) as { status: string; data: { result: unknown[] } };
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };
  const promRaw = async (query: string) => {
    const r = await server.fetch('/api/v1/query', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query, time: String((T0 + 30 * 60_000) / 1000) }),
    });
    const body = (await r.json()) as { status: string; data: { result: unknown[] } };
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };

  test('metric sample files merge into one; PromQL answers the same, exactly', async () => {
    // 5 files, each 24 samples of 3 series: a gauge with fractions, a counter, a constant
    for (let f = 0; f < 5; f++) {
      const idx = Array.from({ length: 24 }, (_, k) => f * 24 + k);
      const res = await remoteWrite(server, [
        {
          labels: { __name__: 'temp', room: 'a' },
          samples: idx.map((i) => [T0 + i * STEP, 20 + Math.sin(i) * 3.25]),
        },
        { labels: { __name__: 'reqs_total', job: 'x' }, samples: idx.map((i) => [T0 + i * STEP, i * i * 7]) },
        { labels: { __name__: 'up', job: 'x' }, samples: idx.map((i) => [T0 + i * STEP, 1]) },
      ]);
      assert.equal(res.status, 204, await res.text());
      await flush(server, '_samples', 'metrics');
    }
    const files0 = (await streamStats(server, '_samples', 'metrics')).files;
    assert.ok(files0 >= 5, `files ${files0}`);
    const queries = ['temp', 'rate(reqs_total[2m])', 'up'];
    const ranges0 = await Promise.all(queries.map(promRange));
    const raw0 = await promRaw('{__name__=~"temp|reqs_total|up"}[31m]');
    assert.equal(
      (raw0 as { values: unknown[] }[]).reduce((n, s) => n + s.values.length, 0),
      3 * 120,
    );

    const report = await compact(server, '?type=metrics');
    const merged = report.merged.filter((m) => m.type === 'metrics');
    assert.ok(merged.length >= 1);
    assert.equal(
      merged.reduce((n, m) => n + m.rows, 0),
      3 * 120,
    );
    // one file per hour bucket the samples fall in (one or two)
    assert.equal((await streamStats(server, '_samples', 'metrics')).files, merged.length);
    assert.deepEqual(await Promise.all(queries.map(promRange)), ranges0);
    assert.deepEqual(await promRaw('{__name__=~"temp|reqs_total|up"}[31m]'), raw0);
  });

  test('delete by time range on metric samples: the range goes, every other sample stays exactly', async () => {
    type Series = { metric: Record<string, string>; values: [number, string][] };
    const raw0 = (await promRaw('{__name__=~"temp|reqs_total|up"}[31m]')) as Series[];
    const lo = T0 + 10 * 60_000;
    const hi = T0 + 20 * 60_000;
    const body = {
      type: 'metrics',
      stream: '_samples',
      start: String(BigInt(lo) * 1_000_000n),
      end: String(BigInt(hi) * 1_000_000n),
    };
    const dry = await postJson(server, '/api/default/_delete', { ...body, dry_run: true });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.json().rows, 3 * 40);
    const real = await postJson(server, '/api/default/_delete', body);
    assert.equal(real.status, 200, real.text);
    assert.equal(real.json().rows, 3 * 40);
    const outside = raw0.map((s) => ({
      metric: s.metric,
      values: s.values.filter(([t]) => t * 1000 < lo || t * 1000 >= hi),
    }));
    assert.deepEqual(await promRaw('{__name__=~"temp|reqs_total|up"}[31m]'), outside);
  });

  test('trace files merge; spans and trace lookups unchanged', async () => {
    const ledger = new Ledger();
    const tsNs = BigInt(T0) * 1_000_000n;
    for (let f = 0; f < 4; f++) {
      const body = otlpJsonTraces(
        ledger,
        Array.from({ length: 10 }, (_, i) => `span-${f}-${i}`),
        undefined,
        tsNs + BigInt(f) * 1_000_000_000n,
      );
      const res = await server.fetch('/v1/traces', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, await res.text());
      await flush(server, 'default', 'traces');
    }
    const q = 'SELECT trace_id, span_id, "attr.rid" AS rid, _timestamp FROM traces.default ORDER BY rid';
    const before = (await server.search(q)).hits;
    assert.equal(before.length, 40);
    const traceId = String(before[0]!.trace_id);
    const lookup = async () => {
      const r = await server.fetch(`/api/traces/${traceId}`);
      assert.equal(r.status, 200);
      return r.json();
    };
    const trace0 = await lookup();
    const report = await compact(server, '?type=traces');
    assert.equal(report.merged.filter((m) => m.type === 'traces').length, 1);
    assert.equal((await streamStats(server, 'default', 'traces')).files, 1);
    assert.deepEqual((await server.search(q)).hits, before);
    assert.deepEqual(await lookup(), trace0);
  });
});
