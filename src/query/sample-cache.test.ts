import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryBytes, SampleCache, type SeriesEntry } from './sample-cache.ts';

const entry = (n: number, files: string[]): SeriesEntry => ({
  t: Float64Array.from({ length: n }, (_, i) => i * 1000),
  v: Float64Array.from({ length: n }, (_, i) => i),
  stale: null,
  files: new Set(files),
});

describe('SampleCache', () => {
  it('answers which files a series has not read, counting hits and misses', () => {
    const c = new SampleCache(1 << 20);
    assert.deepEqual(c.missingFiles(c.get('o', 1), ['a', 'b']), ['a', 'b']);
    c.set('o', 1, entry(10, ['a', 'b']));
    assert.deepEqual(c.missingFiles(c.get('o', 1), ['a', 'b', 'c']), ['c']);
    assert.equal(c.hits, 2);
    assert.equal(c.misses, 3);
    assert.equal(c.get('other-org', 1), undefined, 'entries are per org');
    assert.equal(c.bytes, entryBytes(entry(10, ['a', 'b'])));
  });

  it('replacing an entry counts only the new one', () => {
    const c = new SampleCache(1 << 20);
    c.set('o', 1, entry(10, ['a']));
    c.set('o', 1, entry(20, ['a', 'b']));
    assert.equal(c.size, 1);
    assert.equal(c.bytes, entryBytes(entry(20, ['a', 'b'])));
  });

  it('evicts the least recently used series past its budget', () => {
    const one = entryBytes(entry(1000, ['a']));
    const c = new SampleCache(one * 2);
    c.set('o', 1, entry(1000, ['a']));
    c.set('o', 2, entry(1000, ['a']));
    c.get('o', 1); // 1 is now the most recently used
    c.set('o', 3, entry(1000, ['a']));
    assert.equal(c.size, 2);
    assert.equal(c.bytes, one * 2);
    assert.ok(c.get('o', 1), '1 stayed');
    assert.equal(c.get('o', 2), undefined, '2 went');
  });

  it('with a zero budget keeps nothing', () => {
    const c = new SampleCache(0);
    c.set('o', 1, entry(10, ['a']));
    assert.equal(c.bytes, 0);
    assert.equal(c.size, 0);
  });

  it('dropping a file forgets every series that read it', () => {
    const c = new SampleCache(1 << 20);
    c.set('o', 1, entry(10, ['a', 'b']));
    c.set('o', 2, entry(10, ['b']));
    c.set('o', 3, entry(10, ['c']));
    c.dropFile('b');
    assert.equal(c.size, 1);
    assert.ok(c.get('o', 3));
    assert.equal(c.bytes, entryBytes(entry(10, ['c'])));
  });
});
