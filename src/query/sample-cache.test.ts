import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SampleCache, samplesBytes } from './sample-cache.ts';
import type { SeriesSamples } from './sample-reader.ts';

const series = (id: number, n: number): SeriesSamples => ({
  id,
  t: Float64Array.from({ length: n }, (_, i) => i * 1000),
  v: Float64Array.from({ length: n }, (_, i) => i),
  stale: null,
});

describe('SampleCache', () => {
  it('remembers which series a file was asked for, with and without samples', () => {
    const c = new SampleCache(1 << 20);
    const f = c.file('a.parquet');
    assert.deepEqual(c.missing(f, [1, 2, 3]), [1, 2, 3]);
    c.fill('a.parquet', f, [1, 2, 3], [series(1, 10), series(3, 5)]);
    assert.deepEqual(c.missing(c.file('a.parquet'), [1, 2, 3, 4]), [4]);
    assert.equal(c.hits, 3);
    assert.equal(c.misses, 4);
    assert.equal(f.series.get(1)?.t.length, 10);
    assert.equal(f.series.has(2), false, 'a series without samples in the file is absent, not re-read');
    assert.equal(c.bytes, samplesBytes(series(1, 10)) + samplesBytes(series(3, 5)) + 3 * 16);
  });

  it('evicts the least recently used files past its budget', () => {
    const one = samplesBytes(series(1, 1000)) + 16;
    const c = new SampleCache(one * 2);
    for (const key of ['a', 'b']) c.fill(key, c.file(key), [1], [series(1, 1000)]);
    c.file('a'); // a is now the most recently used
    c.fill('c', c.file('c'), [1], [series(1, 1000)]);
    assert.equal(c.fileCount, 2);
    assert.equal(c.bytes, one * 2);
    assert.deepEqual(c.missing(c.file('a'), [1]), [], 'a stayed');
    assert.deepEqual(c.missing(c.file('b'), [1]), [1], 'b went');
  });

  it('with a zero budget keeps nothing, but the reader still gets what it filled', () => {
    const c = new SampleCache(0);
    const f = c.file('a');
    c.fill('a', f, [1], [series(1, 10)]);
    assert.equal(f.series.get(1)?.t.length, 10);
    assert.equal(c.bytes, 0);
    assert.equal(c.fileCount, 0);
  });

  it('drop forgets a file and its bytes', () => {
    const c = new SampleCache(1 << 20);
    c.fill('a', c.file('a'), [1], [series(1, 10)]);
    c.drop('a');
    assert.equal(c.bytes, 0);
    assert.equal(c.fileCount, 0);
  });
});
