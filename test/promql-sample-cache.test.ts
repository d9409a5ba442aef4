/**
 * PromQL reads samples from flushed Parquet files (through the in-memory sample cache) together
 * with the memtable: answers are the same with the cache on and off, across several files and
 * the memtable, for new series, staleness markers and out-of-order samples; the cache serves a
 * repeated query without reading the files again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerProcess } from './harness.ts';
import { remoteWrite, type TestSeries } from './prom-write.ts';

const STEP = 15_000;
// 30 minutes ago, aligned: inside the out-of-order window, and all samples in the past
const T0 = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
const at = (i: number) => T0 + i * STEP;
const ramp = (from: number, to: number, f: (i: number) => number): [number, number][] =>
  Array.from({ length: to - from }, (_, k) => [at(from + k), f(from + k)]);

async function cacheCounters(server: ServerProcess): Promise<{ hits: number; misses: number }> {
  const text = await (await server.fetch('/metrics')).text();
  const read = (name: string) =>
    Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(name)) ?? '')?.[2] ?? NaN);
  return {
    hits: read('molesignal_sample_cache_hits_total'),
    misses: read('molesignal_sample_cache_misses_total'),
  };
}

for (const cacheBytes of ['536870912', '0']) {
  describe(`PromQL over files and memtable (query.sampleCacheBytes=${cacheBytes})`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServer({ env: { MOLESIGNAL_QUERY_SAMPLE_CACHE_BYTES: cacheBytes } });
    });
    after(async () => {
      await server.stop();
    });

    const write = async (series: TestSeries[]) =>
      assert.equal((await remoteWrite(server, series)).status, 204);
    const flush = async () => {
      const r = await server.fetch('/api/default/streams/_samples/_flush?type=metrics', { method: 'POST' });
      assert.equal(r.status, 200, await r.text());
    };
    const range = async (query: string, from: number, to: number) => {
      const r = await server.fetch('/api/v1/query_range', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          query,
          start: String(at(from) / 1000),
          end: String(at(to) / 1000),
          step: '15',
        }),
      });
      const body = (await r.json()) as {
        status: string;
        data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
      };
      assert.equal(body.status, 'success', JSON.stringify(body));
      const out: Record<string, number[]> = {};
      for (const s of body.data.result) out[JSON.stringify(s.metric)] = s.values.map(([, v]) => Number(v));
      return out;
    };
    const key = (m: Record<string, string>) => JSON.stringify(m);

    test('the first file: samples read from Parquet, a repeat served from memory', async () => {
      await write([
        { labels: { __name__: 'temp', room: 'a' }, samples: ramp(0, 10, (i) => i) },
        { labels: { __name__: 'temp', room: 'b' }, samples: ramp(0, 10, (i) => 100 + i) },
      ]);
      await flush();
      const want = { [key({ __name__: 'temp', room: 'a' })]: ramp(0, 10, (i) => i).map(([, v]) => v) };
      const before = await cacheCounters(server);
      assert.deepEqual(await range('temp{room="a"}', 0, 9), want);
      const mid = await cacheCounters(server);
      assert.deepEqual(await range('temp{room="a"}', 0, 9), want);
      const end = await cacheCounters(server);
      assert.ok(mid.misses > before.misses, 'the first read decodes the file');
      if (cacheBytes !== '0') {
        assert.equal(end.misses, mid.misses, 'the repeat is served from memory');
        assert.ok(end.hits > mid.hits);
      } else assert.ok(end.misses > mid.misses, 'without a cache every read decodes the file');
    });

    test('file + memtable: later samples, a new series, an out-of-order sample and a staleness marker', async () => {
      await write([
        { labels: { __name__: 'temp', room: 'a' }, samples: ramp(10, 20, (i) => i), staleAt: at(20) },
        // room b gets a sample between its flushed ones' times: out of order, in the memtable
        { labels: { __name__: 'temp', room: 'b' }, samples: [[at(4) + 5_000, 555]] },
        { labels: { __name__: 'temp', room: 'c' }, samples: ramp(5, 20, (i) => 200 + i) },
      ]);
      const check = async () => {
        const r = await range('temp', 0, 25);
        assert.deepEqual(
          r[key({ __name__: 'temp', room: 'a' })],
          ramp(0, 20, (i) => i).map(([, v]) => v),
          'a: 0..19, then stale',
        );
        // b: its samples at 0..9 (the out-of-order one at 4 + 5 s is never the latest at a step)
        const b = r[key({ __name__: 'temp', room: 'b' })]!;
        assert.deepEqual(b.slice(0, 10), [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
        assert.deepEqual(
          await range('max_over_time(temp{room="b"}[1m])', 5, 5),
          { [key({ room: 'b' })]: [555] },
          'the out-of-order sample is seen by range windows',
        );
        assert.deepEqual(r[key({ __name__: 'temp', room: 'c' })]?.slice(0, 3), [205, 206, 207]);
        assert.deepEqual(
          await range('count_over_time(temp{room="a"}[10m])', 19, 19),
          { [key({ room: 'a' })]: [20] },
          'one window spanning the file and the memtable',
        );
      };
      await check();
      await flush();
      await check();
      await flush(); // nothing to flush: same answers
      await check();
    });
  });
}
