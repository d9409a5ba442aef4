import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMoleError } from '../lib/errors.ts';
import {
  MAX_RECORD_PAYLOAD_BYTES,
  parseSegmentFileName,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './record.ts';
import { FaultyWalFs } from './wal-fs.ts';
import {
  appendMany,
  openRecorded,
  payloadFor,
  replayAll,
  segmentNames,
  tempDir,
} from './wal-test-helpers.ts';
import { Wal } from './wal.ts';

const SMALL_SEGMENT_BYTES = 2048;

void test('round trip across several segments, replay from a middle seq, nextSeq after reopen', async (t) => {
  const dir = await tempDir(t);
  const first = await openRecorded({ dir, segmentBytes: SMALL_SEGMENT_BYTES });
  assert.equal((await first.wal.replay(1, () => assert.fail('empty WAL'))).records, 0);
  assert.equal(first.wal.nextSeq, 1);
  const seqs = await appendMany(first.wal, 200);
  assert.deepEqual(
    seqs,
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  assert.ok(first.wal.stats().segments >= 5, `expected several segments, got ${first.wal.stats().segments}`);
  assert.equal(first.wal.stats().appends, 200);
  await first.wal.close();

  const names = await segmentNames(dir);
  assert.equal(names[0], '00000000000000000001.wal');

  const all = await openRecorded({ dir, segmentBytes: SMALL_SEGMENT_BYTES });
  const replayed = await replayAll(all.wal);
  assert.deepEqual(replayed.result, { records: 200, lastSeq: 200, tornTail: false });
  assert.deepEqual(replayed.seqs, seqs);
  replayed.payloads.forEach((p, i) => assert.deepEqual(p, payloadFor(i + 1)));
  assert.equal(all.wal.nextSeq, 201);
  assert.equal(await all.wal.append(payloadFor(201)), 201);
  await all.wal.close();
  assert.deepEqual(all.rec.warnings, []);

  const middle = await openRecorded({ dir, segmentBytes: SMALL_SEGMENT_BYTES });
  const fromMiddle = await replayAll(middle.wal, 120);
  assert.deepEqual(fromMiddle.result, { records: 82, lastSeq: 201, tornTail: false });
  assert.deepEqual(
    fromMiddle.seqs,
    Array.from({ length: 82 }, (_, i) => 120 + i),
  );
  fromMiddle.payloads.forEach((p, i) => assert.deepEqual(p, payloadFor(120 + i)));
  assert.equal(middle.wal.nextSeq, 202);
  await middle.wal.close();
});

void test('segments never pass segmentBytes unless one record is bigger; a big record gets its own segment', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openRecorded({ dir, segmentBytes: 1000 });
  await wal.replay(1, () => {});
  await appendMany(wal, 30, 8);
  const big = new Uint8Array(5000).fill(7);
  const bigSeq = await wal.append(big);
  await appendMany(wal, 5, 5);
  await wal.close();

  const bigSegment = segmentFileName(bigSeq);
  for (const name of await segmentNames(dir)) {
    const { size } = await stat(join(dir, name));
    if (name === bigSegment) assert.equal(size, SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + big.length);
    else assert.ok(size <= 1000, `${name} is ${size} bytes, over segmentBytes=1000`);
  }

  const again = await openRecorded({ dir, segmentBytes: 1000 });
  const { seqs, payloads } = await replayAll(again.wal);
  assert.equal(seqs.length, 36);
  assert.deepEqual(payloads[bigSeq - 1], big);
  await again.wal.close();
});

void test('minNextSeq: nextSeq is max(last seq on disk + 1, minNextSeq)', async (t) => {
  const cases = [
    { name: 'empty WAL', records: 0, minNextSeq: 500, want: 500 },
    { name: 'floor below the disk', records: 10, minNextSeq: 3, want: 11 },
    { name: 'floor above the disk', records: 10, minNextSeq: 50, want: 50 },
  ];
  for (const c of cases) {
    const dir = await tempDir(t);
    const setup = await openRecorded({ dir });
    await setup.wal.replay(1, () => {});
    await appendMany(setup.wal, c.records);
    await setup.wal.close();

    const { wal } = await openRecorded({ dir, minNextSeq: c.minNextSeq });
    await wal.replay(1, () => {});
    assert.equal(wal.nextSeq, c.want, c.name);
    assert.equal(await wal.append(payloadFor(c.want)), c.want, c.name);
    await wal.close();

    const reopened = await openRecorded({ dir });
    const { seqs } = await replayAll(reopened.wal);
    assert.deepEqual(seqs, [...Array.from({ length: c.records }, (_, i) => i + 1), c.want], c.name);
    assert.equal(reopened.wal.nextSeq, c.want + 1, c.name);
    await reopened.wal.close();
  }
});

void test('truncateBefore deletes only segments fully below the seq, never the active one', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openRecorded({ dir, segmentBytes: SMALL_SEGMENT_BYTES });
  await wal.replay(1, () => {});
  await appendMany(wal, 150);
  const names = await segmentNames(dir);
  const firstSeqs = names.map((n) => parseSegmentFileName(n)!);
  assert.ok(firstSeqs.length >= 4);

  // Table: for each cut seq, segments fully below it are those whose successor starts at or before it.
  const expectDeleted = (remaining: number[], seq: number) => {
    let n = 0;
    while (n < remaining.length - 1 && remaining[n + 1]! <= seq) n++;
    return n;
  };
  let remaining = firstSeqs;
  const cuts = [1, firstSeqs[1]! - 1, firstSeqs[1]!, firstSeqs[2]! + 1, firstSeqs[2]! + 1, 1_000_000];
  for (const seq of cuts) {
    const want = expectDeleted(remaining, seq);
    assert.equal(await wal.truncateBefore(seq), want, `truncateBefore(${seq})`);
    remaining = remaining.slice(want);
    assert.deepEqual(
      (await segmentNames(dir)).map((n) => parseSegmentFileName(n)),
      remaining,
    );
  }
  assert.equal(remaining.length, 1, 'the active segment is never deleted');
  assert.equal(wal.stats().segments, 1);
  await wal.close();

  const { wal: again } = await openRecorded({ dir, segmentBytes: SMALL_SEGMENT_BYTES });
  const { seqs } = await replayAll(again);
  assert.equal(seqs[0], remaining[0]);
  assert.equal(seqs.at(-1), 150);
  await again.close();
});

void test('rotate starts a new segment so truncateBefore can free the old one; no-op when empty', async (t) => {
  const dir = await tempDir(t);
  const fs = new FaultyWalFs();
  const { wal } = await openRecorded({ dir, fs });
  await wal.replay(1, () => {});
  assert.equal(fs.dirSyncs, 1, 'creating the first segment fsyncs the directory');
  await appendMany(wal, 10);
  await wal.rotate();
  await wal.rotate();
  assert.deepEqual(await segmentNames(dir), ['00000000000000000001.wal', '00000000000000000011.wal']);
  assert.equal(fs.dirSyncs, 2, 'so does creating the next one (the no-op rotate creates nothing)');
  assert.equal(await wal.truncateBefore(wal.nextSeq), 1);
  assert.equal(fs.dirSyncs, 3, 'and deleting segments');
  assert.equal(await wal.append(payloadFor(11)), 11);
  await wal.close();

  const { wal: again } = await openRecorded({ dir });
  const { seqs } = await replayAll(again);
  assert.deepEqual(seqs, [11]);
  await again.close();
});

void test('group commit: 100 concurrent appends share few fsyncs; apply runs in seq order before each resolve', async (t) => {
  for (const groupCommitWindowMs of [0, 5]) {
    const dir = await tempDir(t);
    const fs = new FaultyWalFs();
    const { wal } = await openRecorded({ dir, fs, groupCommitWindowMs });
    await wal.replay(1, () => {});
    const syncsBefore = fs.syncs;
    const applied: number[] = [];
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      appends.push(
        wal
          .append(payloadFor(i + 1), (seq) => applied.push(seq))
          .then((seq) => {
            assert.ok(applied.includes(seq), `seq ${seq} resolved before its apply ran`);
          }),
      );
    }
    await Promise.all(appends);
    assert.deepEqual(
      applied,
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const groupSyncs = fs.syncs - syncsBefore;
    assert.ok(
      groupSyncs <= 3,
      `window ${groupCommitWindowMs} ms: ${groupSyncs} fsyncs for 100 concurrent appends`,
    );
    assert.equal(wal.stats().fsyncs, groupSyncs);
    await wal.close();
  }
});

void test('group commit: appends arriving during an in-flight fsync form the next group', async (t) => {
  const dir = await tempDir(t);
  const fs = new FaultyWalFs();
  const { wal } = await openRecorded({ dir, fs });
  await wal.replay(1, () => {});
  const syncsBefore = fs.syncs;
  const applied: number[] = [];
  const all: Promise<number>[] = [];
  // 10 waves of 10, each wave one event-loop turn apart: most land while a group is in flight.
  for (let wave = 0; wave < 10; wave++) {
    for (let i = 0; i < 10; i++) all.push(wal.append(payloadFor(wal.nextSeq), (seq) => applied.push(seq)));
    await new Promise((r) => setImmediate(r));
  }
  const seqs = await Promise.all(all);
  assert.deepEqual(seqs, applied);
  assert.deepEqual(
    applied,
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  const groupSyncs = fs.syncs - syncsBefore;
  assert.ok(groupSyncs < 50, `${groupSyncs} fsyncs for 100 appends in 10 waves`);
  await wal.close();
});

void test('an apply callback that throws is reported and does not stop the WAL', async (t) => {
  const dir = await tempDir(t);
  const { wal, rec } = await openRecorded({ dir });
  await wal.replay(1, () => {});
  const applied: number[] = [];
  const results = await Promise.all([
    wal.append(payloadFor(1), (seq) => applied.push(seq)),
    wal.append(payloadFor(2), () => {
      throw new Error('memtable exploded');
    }),
    wal.append(payloadFor(3), (seq) => applied.push(seq)),
  ]);
  assert.deepEqual(results, [1, 2, 3]);
  assert.deepEqual(applied, [1, 3]);
  assert.equal(rec.warnings.length, 1);
  assert.equal(rec.warnings[0]!.fields.seq, 2);
  assert.match(String(rec.warnings[0]!.fields.err), /memtable exploded/);
  assert.equal(rec.fatals.length, 0);
  await wal.close();
});

void test('close lets pending appends complete, then refuses new ones', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openRecorded({ dir, groupCommitWindowMs: 10 });
  await wal.replay(1, () => {});
  const pending = Array.from({ length: 50 }, (_, i) => wal.append(payloadFor(i + 1)));
  const closed = wal.close();
  await assert.rejects(
    wal.append(payloadFor(51)),
    (e: unknown) => isMoleError(e) && e.code === 'MS_ERR_WAL_CLOSED',
  );
  assert.equal((await Promise.all(pending)).length, 50);
  await closed;
  await wal.close(); // idempotent

  const { wal: again } = await openRecorded({ dir });
  assert.equal((await replayAll(again)).seqs.length, 50);
  await again.close();
});

void test('lifecycle errors: append before replay, replay twice, oversized record, bad options', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openRecorded({ dir });
  await assert.rejects(
    wal.append(payloadFor(1)),
    (e: unknown) => isMoleError(e) && e.code === 'MS_ERR_WAL_STATE',
  );
  await wal.replay(1, () => {});
  await assert.rejects(
    wal.replay(1, () => {}),
    (e: unknown) => isMoleError(e) && e.code === 'MS_ERR_WAL_STATE',
  );
  await assert.rejects(
    wal.append(new Uint8Array(MAX_RECORD_PAYLOAD_BYTES + 1)),
    (e: unknown) => isMoleError(e) && e.code === 'MS_ERR_WAL_RECORD_TOO_LARGE' && e.status === 413,
  );
  assert.equal(await wal.append(payloadFor(1)), 1, 'a refused record does not consume a seq');
  await wal.close();

  await assert.rejects(
    Wal.open({ dir, groupCommitWindowMs: 11, segmentBytes: 0 }),
    (e: unknown) =>
      isMoleError(e) && e.reason === 'config_invalid' && /groupCommitWindowMs.*segmentBytes/.test(e.message),
  );
});

void test("fsync='interval': acks after the write, fsyncs on the timer and at close", async (t) => {
  const dir = await tempDir(t);
  const fs = new FaultyWalFs();
  const { wal } = await openRecorded({ dir, fs, fsync: 'interval', fsyncIntervalMs: 20 });
  await wal.replay(1, () => {});
  const syncsBefore = fs.syncs;
  const applied: number[] = [];
  const seqs = await Promise.all(
    Array.from({ length: 20 }, () => wal.append(payloadFor(wal.nextSeq), (s) => applied.push(s))),
  );
  assert.deepEqual(applied, seqs);
  assert.equal(fs.syncs, syncsBefore, 'acknowledged without an fsync');
  for (let waited = 0; fs.syncs === syncsBefore && waited < 5000; waited += 5) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(fs.syncs, syncsBefore + 1, 'the timer fsyncs the dirty segment');
  await new Promise((r) => setTimeout(r, 100)); // five more intervals
  assert.equal(fs.syncs, syncsBefore + 1, 'and does not fsync while nothing was written');
  await wal.append(payloadFor(21));
  await wal.close();
  assert.equal(fs.syncs, syncsBefore + 2, 'close fsyncs what the timer has not');

  const { wal: again } = await openRecorded({ dir });
  assert.equal((await replayAll(again)).seqs.length, 21);
  await again.close();
});
