import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChunkColumnKind } from './chunk-writer.ts';
import { runCuts } from './memtable.ts';

const kinds: ChunkColumnKind[] = ['BIGINT', 'VARCHAR', 'VARCHAR'];
const ts = (n: number) => Array.from({ length: n }, (_, i) => BigInt(i));
const bodies = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`);
/** a label column made of runs of the given lengths */
const runs = (...lengths: number[]) =>
  lengths.flatMap((len, k) => Array.from({ length: len }, () => `s${k}`));

test('runCuts cuts a batch where the long runs of its label columns begin and end', () => {
  // three streams of 600, 300 and 700 rows: every run is a chunk of its own
  assert.deepEqual(runCuts([ts(1600), bodies(1600), runs(600, 300, 700)], kinds, 1600), [600, 900]);
  // short runs (interleaved streams) stay together; the long run after them is cut out
  const mixed = runs(...Array.from({ length: 20 }, () => 10), 800);
  assert.deepEqual(runCuts([ts(1000), bodies(1000), mixed], kinds, 1000), [200]);
  // a column that changes all the time (bodies) never cuts; a batch of one run has no cut
  assert.deepEqual(runCuts([ts(1000), bodies(1000), runs(1000)], kinds, 1000), []);
  // small batches are one chunk
  assert.deepEqual(runCuts([ts(300), bodies(300), runs(150, 150)], kinds, 300), []);
});
