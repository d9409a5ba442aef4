/** The committed v1 segment (test/fixtures/wal/v1/README.md) still replays, byte for byte. */
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeSegment, encodeSegment } from './record.ts';
import { openRecorded, replayAll, tempDir } from './wal-test-helpers.ts';

const FIXTURE_DIR = fileURLToPath(new URL('../../test/fixtures/wal/v1/', import.meta.url));
const SEGMENT = '00000000000000000001.wal';
const enc = new TextEncoder();
const EXPECTED: Uint8Array[] = [
  enc.encode('hello, wal'),
  new Uint8Array(0),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  enc.encode('ünïcödé ✓'),
  enc.encode('{"org":"o1","n":5}'),
];

void test('fixture v1: replays through Wal (on a copy) with the documented records', async (t) => {
  const dir = await tempDir(t);
  await cp(FIXTURE_DIR, dir, { recursive: true });
  const { wal, rec } = await openRecorded({ dir });
  const { seqs, payloads, result } = await replayAll(wal);
  assert.deepEqual(result, { records: 5, lastSeq: 5, tornTail: false });
  assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
  assert.deepEqual(payloads, EXPECTED);
  assert.deepEqual(rec.warnings, []);
  assert.equal(wal.nextSeq, 6);
  await wal.close();
});

void test('fixture v1: the encoder still writes exactly these bytes', async () => {
  const bytes = new Uint8Array(await readFile(join(FIXTURE_DIR, SEGMENT)));
  assert.equal(bytes.length, 403);
  assert.equal(decodeSegment(bytes).problem, null);
  assert.deepEqual(encodeSegment(1, EXPECTED), bytes);
});
