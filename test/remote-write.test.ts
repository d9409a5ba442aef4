/**
 * Prometheus remote_write into the server process: series and samples land in the org's
 * `metrics._samples` stream with stable series ids, staleness markers kept, survive a SIGKILL
 * (WAL replay resolves the same series), and bad bodies store nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufWriter as W } from '../src/lib/protobuf-writer.ts';
import { snappyCompress } from '../src/lib/snappy.ts';
import { startServer, type ServerProcess } from './harness.ts';
import { writeRequest } from './prom-write.ts';

const sample = (v: number, t: number) => new W().double(1, v).uint(2, t);

describe('remote_write ingest', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  const post = (body: Uint8Array, headers: Record<string, string> = {}, path = '/api/v1/write') =>
    server.fetch(path, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
        ...headers,
      },
      body,
    });
  const samples = async () =>
    (
      await server.search(
        `SELECT series_id, _timestamp // 1000000 AS t, value, stale FROM metrics._samples ORDER BY series_id, t`,
      )
    ).hits;

  test('samples of two series are stored with their series ids and staleness', async () => {
    const body = writeRequest([
      {
        labels: { __name__: 'up', job: 'api', instance: 'a:9090' },
        samples: [
          [1_700_000_000_000, 1],
          [1_700_000_015_000, 0],
        ],
        staleAt: 1_700_000_030_000,
      },
      { labels: { instance: 'b:9090', job: 'api', __name__: 'up' }, samples: [[1_700_000_000_000, 1]] },
    ]);
    const res = await post(snappyCompress(body));
    assert.equal(res.status, 204, await res.text());
    assert.deepEqual(await samples(), [
      { series_id: 1, t: 1_700_000_000_000, value: 1, stale: false },
      { series_id: 1, t: 1_700_000_015_000, value: 0, stale: false },
      { series_id: 1, t: 1_700_000_030_000, value: 'NaN', stale: true },
      { series_id: 2, t: 1_700_000_000_000, value: 1, stale: false },
    ]);
    // the same series again (labels in another order) keeps its id; the org path works too
    const again = writeRequest([
      { labels: { job: 'api', __name__: 'up', instance: 'b:9090' }, samples: [[1_700_000_060_000, 1]] },
    ]);
    assert.equal((await post(snappyCompress(again), {}, '/api/default/prometheus/api/v1/write')).status, 204);
    const rows = await samples();
    assert.deepEqual(rows.at(-1), { series_id: 2, t: 1_700_000_060_000, value: 1, stale: false });
  });

  test('remote_write 2.0 with a symbol table', async () => {
    const symbols = ['', '__name__', 'temperature', 'room', 'lab'];
    const req = new W();
    for (const s of symbols) req.string(4, s);
    req.message(
      5,
      new W().bytesField(1, Uint8Array.from([1, 2, 3, 4])).message(2, sample(21.5, 1_700_000_000_000)),
    );
    const res = await post(snappyCompress(req.finish()), {
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'x-prometheus-remote-write-version': '2.0.0',
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('x-prometheus-remote-write-samples-written'), '1');
    const r = await server.search(`SELECT value FROM metrics._samples WHERE value = 21.5`);
    assert.equal(r.hits.length, 1);
  });

  test('bad bodies get 400 and store nothing', async () => {
    const before = (await samples()).length;
    const cases: [Uint8Array, Record<string, string>, RegExp][] = [
      [Uint8Array.from([0x05, 0x10, 0x61]), {}, /snappy/],
      [snappyCompress(Uint8Array.from([0x0a, 0xff, 0x01])), {}, /protobuf/],
      [snappyCompress(writeRequest([{ labels: { job: 'x' }, samples: [[1, 1]] }])), {}, /metric name/],
      [Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), {}, /maxDecodedBytes/],
    ];
    for (const [body, headers, re] of cases) {
      const res = await post(body, headers);
      assert.ok(res.status === 400 || res.status === 413, `status ${res.status}`);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, re);
    }
    assert.equal((await samples()).length, before);
  });

  test('samples and series survive a SIGKILL (WAL replay resolves the same series ids)', async () => {
    const before = await samples();
    await server.kill();
    server = await startServer({ dataDir: server.dataDir });
    assert.deepEqual(await samples(), before);
    const more = writeRequest([
      { labels: { __name__: 'up', job: 'api', instance: 'c:9090' }, samples: [[1_700_000_000_000, 1]] },
    ]);
    assert.equal((await post(snappyCompress(more))).status, 204);
    const ids = new Set((await samples()).map((r) => r.series_id));
    assert.ok(ids.has(3) || ids.has(4), `a new series gets a fresh id: ${[...ids].join(',')}`);
  });

  test('a series limit refuses new series with 429 naming the metric and the label driving growth', async () => {
    const limited = await startServer({ env: { MOLESIGNAL_LIMITS_MAX_SERIES_PER_METRIC: '3' } });
    try {
      const body = writeRequest(
        [1, 2, 3, 4, 5].map((i) => ({
          labels: { __name__: 'logins_total', user_id: `u${i}`, job: 'auth' },
          samples: [[1_700_000_000_000, i]] as [number, number][],
        })),
      );
      const res = await limited.fetch('/api/v1/write', {
        method: 'POST',
        headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' },
        body: snappyCompress(body),
      });
      assert.equal(res.status, 429);
      const err = ((await res.json()) as { error: { message: string; reason: string } }).error;
      assert.equal(err.reason, 'series_limit');
      assert.match(err.message, /limits\.maxSeriesPerMetric=3 for metric "logins_total"/);
      assert.match(err.message, /label "user_id"/);
      const stored = await limited.search('SELECT count(*) AS c FROM metrics._samples');
      assert.equal(stored.hits[0]!.c, 3, 'the series within the limit were stored');
    } finally {
      await limited.stop();
    }
  });
});
