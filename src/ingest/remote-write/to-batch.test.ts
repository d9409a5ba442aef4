import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteCatalog } from '../../catalog/sqlite.ts';
import { snappyCompress } from '../../lib/snappy.ts';
import { SeriesRegistry } from '../../write/series-registry.ts';
import { decodePayload, encodePayload, type IngestPayload } from '../../write/wal-payload.ts';
import { decodeRemoteWrite, replayMetricsBatch, resolveSeries } from './to-batch.ts';

/**
 * A `prw-v1` WAL payload (decoded body) as every release before the `*-snappy` formats wrote it:
 * org o0123456789abcdef, two series `up{job="api"}` (samples 1 @1700000000000, 0 @1700000015000)
 * and `up{job="db"}` (2.5 @1700000000000).
 */
const V1_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/wal-payload/prw-v1.bin', import.meta.url));

const NO_LIMITS = { maxSeriesPerOrg: Infinity, maxSeriesPerMetric: Infinity };

const columns = (p: IngestPayload) => {
  const rw = decodeRemoteWrite(p);
  return {
    series: rw.series,
    sampleSeries: [...rw.sampleSeries],
    ts: [...rw.timestampsMs],
    values: [...rw.values],
  };
};

test('a prw-v1 WAL payload of an older release and its prw-v1-snappy form replay to the same samples', async () => {
  const old = decodePayload(new Uint8Array(readFileSync(V1_FIXTURE)));
  assert.equal(old.format, 'prw-v1');
  const snappy = decodePayload(
    encodePayload({ ...old, format: 'prw-v1-snappy', body: snappyCompress(old.body) }),
  );
  assert.equal(snappy.format, 'prw-v1-snappy');
  const expected = {
    series: [
      [
        { name: '__name__', value: 'up' },
        { name: 'job', value: 'api' },
      ],
      [
        { name: '__name__', value: 'up' },
        { name: 'job', value: 'db' },
      ],
    ],
    sampleSeries: [0, 0, 1],
    ts: [1_700_000_000_000, 1_700_000_015_000, 1_700_000_000_000],
    values: [1, 0, 2.5],
  };
  assert.deepEqual(columns(old), expected);
  assert.deepEqual(columns(snappy), expected);

  const dir = mkdtempSync(join(tmpdir(), 'prw-replay-'));
  try {
    const catalog = new SqliteCatalog(join(dir, 'c.sqlite'));
    await catalog.createOrg(old.org, 'o');
    const ingest = new SeriesRegistry(catalog);
    const { ids } = await resolveSeries(ingest, old.org, decodeRemoteWrite(snappy), NO_LIMITS);
    assert.deepEqual([...ids], [1, 2]);
    // after a restart: the registry is loaded from the catalog, both records resolve the same ids
    for (const p of [old, snappy]) {
      const registry = new SeriesRegistry(catalog);
      await registry.load();
      const batch = replayMetricsBatch(p, registry);
      assert.equal(batch.rowCount, 3);
      assert.deepEqual([...batch.typed!.series_id!], [1, 1, 2]);
      assert.deepEqual([...batch.typed!.value!], [1, 0, 2.5]);
      assert.deepEqual([...batch.nanosFromMillis!._timestamp!], expected.ts);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resolved series are remembered by their raw label bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prw-raw-'));
  try {
    const catalog = new SqliteCatalog(join(dir, 'c.sqlite'));
    const old = decodePayload(new Uint8Array(readFileSync(V1_FIXTURE)));
    await catalog.createOrg(old.org, 'o');
    const registry = new SeriesRegistry(catalog);
    const rw = decodeRemoteWrite(old);
    assert.deepEqual(
      [...rw.rawKeyStart].map((s) => s >= 0),
      [true, true],
    );
    assert.deepEqual([...(await resolveSeries(registry, old.org, rw, NO_LIMITS)).ids], [1, 2]);
    const raw = registry.rawIds(old.org);
    for (let i = 0; i < 2; i++) assert.equal(raw.get(rw.body, rw.rawKeyStart[i]!, rw.rawKeyEnd[i]!), i + 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
