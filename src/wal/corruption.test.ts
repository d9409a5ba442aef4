/**
 * Damage on purpose (RELIABILITY.md D3, D4, F4; Prometheus TestCorruptAndCarryOn): torn tails at
 * many offsets, bit flips in the middle of the WAL with and without --wal-repair, and a property
 * test over random flips of real segment files.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { CorruptionError, isMoleError } from '../lib/errors.ts';
import {
  decodeSegment,
  encodeSegment,
  recordFrameBytes,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './record.ts';
import {
  appendMany,
  openRecorded,
  payloadFor,
  prng,
  replayAll,
  segmentNames,
  tempDir,
} from './wal-test-helpers.ts';

const SEGMENT_BYTES = 2048;
const RECORDS = 60;

interface BaseWal {
  dir: string;
  names: string[];
  /** Records per segment, in order (seq ranges follow from the names). */
  recordsPerSegment: number[];
  /** Byte offsets where a record ends in each segment (SEGMENT_HEADER_BYTES first). */
  boundaries: number[][];
}

/** A closed WAL of RECORDS records spread over several segments. */
async function buildBase(t: TestContext): Promise<BaseWal> {
  const dir = await tempDir(t);
  const { wal } = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES });
  await wal.replay(1, () => {});
  await appendMany(wal, RECORDS, 7);
  await wal.close();
  const names = await segmentNames(dir);
  assert.ok(names.length >= 4, `want ≥ 4 segments, got ${names.length}`);
  const recordsPerSegment: number[] = [];
  const boundaries: number[][] = [];
  for (const name of names) {
    const decoded = decodeSegment(await readFile(join(dir, name)));
    assert.equal(decoded.problem, null);
    recordsPerSegment.push(decoded.records.length);
    const ends = [SEGMENT_HEADER_BYTES];
    for (const r of decoded.records) ends.push(ends.at(-1)! + recordFrameBytes(r.payload.length));
    boundaries.push(ends);
  }
  return { dir, names, recordsPerSegment, boundaries };
}

async function copyOf(t: TestContext, base: BaseWal): Promise<string> {
  const dir = await tempDir(t);
  await cp(base.dir, dir, { recursive: true });
  return dir;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

void test('D3 torn tail: cut the last segment at 50 offsets; start, keep the prefix, warn, carry on', async (t) => {
  const base = await buildBase(t);
  const last = base.names.length - 1;
  const lastName = base.names[last]!;
  const ends = base.boundaries[last]!;
  const lastSize = ends.at(-1)!;
  const recordsBefore = RECORDS - base.recordsPerSegment[last]!;
  const lastRecordStart = ends.at(-2)!;

  const seed = 0x5eed_d3;
  const random = prng(seed);
  const offsets = [
    0, // nothing left, not even the segment header
    7, // inside the segment header
    SEGMENT_HEADER_BYTES, // header only: a clean, empty segment
    lastRecordStart + 5, // inside the last record's frame header
    Math.floor((lastRecordStart + 16 + lastSize) / 2), // mid-payload of the last record
    lastSize - 1, // one byte short
  ];
  while (offsets.length < 50) offsets.push(Math.floor(random() * lastSize));
  assert.ok(offsets.filter((o) => !ends.includes(o)).length >= 40, 'most cuts land inside a record');

  for (const offset of offsets) {
    const label = `cut at ${offset} of ${lastSize} (seed ${seed})`;
    const dir = await copyOf(t, base);
    await truncate(join(dir, lastName), offset);
    const onBoundary = ends.includes(offset);
    const kept = recordsBefore + Math.max(0, ends.filter((e) => e <= offset).length - 1);

    const first = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES });
    const replayed = await replayAll(first.wal);
    assert.deepEqual(replayed.seqs, range(1, kept), label);
    replayed.payloads.forEach((p, i) => assert.deepEqual(p, payloadFor(i + 1), label));
    assert.equal(replayed.result.tornTail, !onBoundary, label);
    assert.equal(first.rec.corruptions, onBoundary ? 0 : 1, label);
    if (!onBoundary) {
      const cutAt = offset < SEGMENT_HEADER_BYTES ? 0 : Math.max(...ends.filter((e) => e <= offset));
      assert.equal(first.rec.warnings.length, 1, label);
      const w = first.rec.warnings[0]!;
      assert.equal(w.fields.segment, join(dir, lastName), label);
      assert.equal(w.fields.offset, cutAt, label);
      assert.equal(w.fields.bytesDiscarded, offset - cutAt, label);
    }
    assert.equal(first.wal.nextSeq, kept + 1, label);
    const added = await appendMany(first.wal, 3, 3);
    assert.deepEqual(added, range(kept + 1, 3), label);
    await first.wal.close();

    const second = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES });
    const again = await replayAll(second.wal);
    assert.deepEqual(again.seqs, range(1, kept + 3), label);
    again.payloads.forEach((p, i) => assert.deepEqual(p, payloadFor(i + 1), label));
    assert.equal(again.result.tornTail, false, label);
    assert.equal(second.rec.corruptions, 0, label);
    assert.deepEqual(second.rec.warnings, [], label);
    await second.wal.close();
  }
});

void test('D4 mid-WAL damage: refuse with segment + offset and --wal-repair; with repair, truncate and count', async (t) => {
  const base = await buildBase(t);
  const firstSeqOf = (segment: number) =>
    1 + base.recordsPerSegment.slice(0, segment).reduce((a, b) => a + b, 0);
  const cases = [
    { name: 'payload byte, first segment', segment: 0, record: 3, byte: 16 + 2, cutAt: 'record' },
    { name: 'length field, middle segment', segment: 1, record: 2, byte: 0, cutAt: 'record' },
    { name: 'crc field, middle segment', segment: 1, record: 0, byte: 5, cutAt: 'record' },
    { name: 'seq field, third segment', segment: 2, record: 1, byte: 9, cutAt: 'record' },
    { name: 'last record of a non-final segment', segment: 0, record: -1, byte: 20, cutAt: 'record' },
    { name: 'segment header', segment: 1, record: 0, byte: -SEGMENT_HEADER_BYTES + 1, cutAt: 'header' },
  ] as const;

  for (const c of cases) {
    const record = c.record === -1 ? base.recordsPerSegment[c.segment]! - 1 : c.record;
    const recordStart = base.boundaries[c.segment]![record]!;
    const flipAt = recordStart + c.byte;
    const offset = c.cutAt === 'header' ? 0 : recordStart;
    const kept = firstSeqOf(c.segment) - 1 + (c.cutAt === 'header' ? 0 : record);
    const segName = base.names[c.segment]!;

    // Default: refuse to start, naming the place and the way out.
    const dir = await copyOf(t, base);
    const path = join(dir, segName);
    const bytes = await readFile(path);
    bytes[flipAt]! ^= 0x40;
    await writeFile(path, bytes);
    const refused = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES });
    await assert.rejects(
      replayAll(refused.wal),
      (e: unknown) => {
        assert.ok(e instanceof CorruptionError, `${c.name}: ${String(e)}`);
        assert.equal(e.segment, path, c.name);
        assert.equal(e.offset, offset, c.name);
        assert.match(e.message, /--wal-repair/, c.name);
        assert.ok(e.message.includes(`segment ${path}, offset ${offset}`), c.name);
        return true;
      },
      c.name,
    );
    assert.equal(refused.rec.corruptions, 0, `${c.name}: nothing was changed`);
    assert.deepEqual(await readFile(path), bytes, `${c.name}: the damaged file is left alone`);

    // --wal-repair: truncate there, delete later segments, report the count, carry on.
    const repaired = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES, repair: true });
    const r = await replayAll(repaired.wal);
    assert.deepEqual(r.seqs, range(1, kept), c.name);
    assert.equal(r.result.lastSeq, kept, c.name);
    assert.equal(repaired.rec.corruptions, 1, c.name);
    assert.equal(repaired.rec.warnings.length, 1, c.name);
    const w = repaired.rec.warnings[0]!;
    assert.match(w.msg, /wal-repair/);
    assert.equal(w.fields.segment, path, c.name);
    assert.equal(w.fields.offset, offset, c.name);
    assert.equal(w.fields.recordsDiscarded, RECORDS - kept, c.name);
    // A segment whose header is damaged goes too.
    const deleted = base.names.length - c.segment - (c.cutAt === 'header' ? 0 : 1);
    assert.equal(w.fields.segmentsDeleted, deleted, c.name);
    // Discarded seqs are never handed out again.
    assert.equal(repaired.wal.nextSeq, RECORDS + 1, c.name);
    assert.equal(await repaired.wal.append(payloadFor(RECORDS + 1)), RECORDS + 1, c.name);
    await repaired.wal.close();

    const clean = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES });
    const after = await replayAll(clean.wal);
    assert.deepEqual(after.seqs, [...range(1, kept), RECORDS + 1], c.name);
    assert.equal(clean.rec.corruptions, 0, c.name);
    assert.deepEqual(clean.rec.warnings, [], c.name);
    await clean.wal.close();
  }
});

void test('a missing segment is refused like mid-WAL damage (never cut as a torn tail); repair counts it', async (t) => {
  const base = await buildBase(t);
  const n = base.names.length;
  const cases = [
    { name: 'a middle segment deleted', missing: 1 },
    { name: 'the segment before the last deleted', missing: n - 2 },
  ];
  for (const c of cases) {
    const dir = await copyOf(t, base);
    await rm(join(dir, base.names[c.missing]!));
    const after = base.names[c.missing + 1]!;
    const kept = base.recordsPerSegment.slice(0, c.missing).reduce((a, b) => a + b, 0);
    const missingRecords = base.recordsPerSegment[c.missing]!;

    const refused = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES });
    const applied: number[] = [];
    await assert.rejects(
      refused.wal.replay(1, (seq) => applied.push(seq)),
      (e: unknown) =>
        e instanceof CorruptionError &&
        e.segment === join(dir, after) &&
        e.offset === 0 &&
        /missing or out of place/.test(e.message) &&
        /--wal-repair/.test(e.message),
      c.name,
    );
    assert.deepEqual(applied, range(1, kept), `${c.name}: nothing after the gap was applied`);

    const repaired = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES, repair: true });
    const r = await replayAll(repaired.wal);
    assert.deepEqual(r.seqs, range(1, kept), c.name);
    const w = repaired.rec.warnings[0]!;
    assert.equal(w.fields.recordsDiscarded, RECORDS - kept - missingRecords, c.name);
    assert.equal(w.fields.segmentsDeleted, n - c.missing - 1, c.name);
    assert.equal(repaired.wal.nextSeq, RECORDS + 1, `${c.name}: discarded seqs are not reused`);
    await repaired.wal.append(payloadFor(RECORDS + 1));
    await repaired.wal.close();

    const clean = await openRecorded({ dir, segmentBytes: SEGMENT_BYTES });
    assert.deepEqual((await replayAll(clean.wal)).seqs, [...range(1, kept), RECORDS + 1], c.name);
    assert.deepEqual(clean.rec.warnings, [], c.name);
    await clean.wal.close();
  }
});

void test('F4: a random byte flip in a real WAL → a prefix (cut) or CorruptionError, nothing else', async (t) => {
  const root = await tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(29), { maxLength: 4 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      async (payloads, splitPoints, where, mask) => {
        // Segments split at the given record indexes; seqs are consecutive from 1.
        const splits = [...new Set(splitPoints.filter((s) => s > 0 && s < payloads.length))].sort(
          (a, b) => a - b,
        );
        const bounds = [0, ...splits, payloads.length];
        const dir = join(root, `run-${run++}`);
        const files: { name: string; bytes: Uint8Array; firstIndex: number; count: number }[] = [];
        for (let s = 0; s + 1 < bounds.length; s++) {
          const from = bounds[s]!;
          const to = bounds[s + 1]!;
          files.push({
            name: segmentFileName(from + 1),
            bytes: encodeSegment(from + 1, payloads.slice(from, to)),
            firstIndex: from,
            count: to - from,
          });
        }
        const total = files.reduce((a, f) => a + f.bytes.length, 0);
        let at = where % total;
        let damaged = files.length - 1;
        for (let s = 0; s < files.length; s++) {
          if (at < files[s]!.bytes.length) {
            damaged = s;
            break;
          }
          at -= files[s]!.bytes.length;
        }
        const target = files[damaged]!;
        target.bytes[at]! ^= mask;
        // The first damaged record (or the whole segment if its header was hit).
        let lost = target.firstIndex;
        if (at >= SEGMENT_HEADER_BYTES) {
          let start = SEGMENT_HEADER_BYTES;
          for (let i = 0; i < target.count; i++) {
            const end = start + recordFrameBytes(payloads[target.firstIndex + i]!.length);
            if (at < end) break;
            lost++;
            start = end;
          }
        }
        await mkdir(dir);
        for (const f of files) await writeFile(join(dir, f.name), f.bytes);

        const { wal, rec } = await openRecorded({ dir });
        const applied: Uint8Array[] = [];
        const isFinal = damaged === files.length - 1;
        try {
          const result = await wal.replay(1, (_seq, p) => applied.push(p.slice()));
          assert.ok(isFinal, 'damage before the last segment must not be cut silently');
          assert.equal(result.tornTail, true);
          assert.equal(rec.corruptions, 1);
          assert.equal(applied.length, lost);
          await wal.close();
        } catch (e) {
          if (!isMoleError(e)) throw e;
          assert.ok(e instanceof CorruptionError && !isFinal, `unexpected ${e.code}: ${e.message}`);
          assert.equal(applied.length, lost, 'records before the damage were applied');
        }
        applied.forEach((p, i) => assert.deepEqual(p, payloads[i]));
      },
    ),
    { numRuns: 60 },
  );
});
