import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '../lib/crc32c.ts';
import {
  decodeRecord,
  decodeSegment,
  decodeSegmentHeader,
  encodeRecord,
  encodeSegment,
  encodeSegmentHeader,
  MAX_RECORD_PAYLOAD_BYTES,
  parseSegmentFileName,
  RECORD_HEADER_BYTES,
  recordFrameBytes,
  SEGMENT_FLAG_AFTER_GAP,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './record.ts';

const payloads = fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 25 });
const firstSeqs = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 100 }),
);

void test('record frame layout: [u32 len][u32 crc32c(seq ++ payload)][u64 seq][payload], little-endian', () => {
  const payload = new TextEncoder().encode('abc');
  const frame = new Uint8Array(recordFrameBytes(payload.length));
  assert.equal(encodeRecord(frame, 0, 0x1_0000_0002, payload), frame.length);
  const dv = new DataView(frame.buffer);
  assert.equal(dv.getUint32(0, true), 3);
  assert.equal(dv.getBigUint64(8, true), 0x1_0000_0002n);
  assert.deepEqual(frame.subarray(RECORD_HEADER_BYTES), payload);
  assert.equal(dv.getUint32(4, true), crc32c(frame.subarray(8)));
});

void test('segment header layout and the ways it can be wrong', () => {
  const good = encodeSegmentHeader(42);
  assert.equal(good.length, SEGMENT_HEADER_BYTES);
  assert.deepEqual(decodeSegmentHeader(good), { kind: 'ok', firstSeq: 42, flags: 0 });
  assert.deepEqual(decodeSegmentHeader(encodeSegmentHeader(7, SEGMENT_FLAG_AFTER_GAP)), {
    kind: 'ok',
    firstSeq: 7,
    flags: SEGMENT_FLAG_AFTER_GAP,
  });
  const mutate = (f: (b: Uint8Array, dv: DataView) => void, fixCrc = false) => {
    const b = good.slice();
    const dv = new DataView(b.buffer);
    f(b, dv);
    if (fixCrc) dv.setUint32(20, crc32c(b.subarray(0, 20)), true);
    return b;
  };
  const cases: { name: string; bytes: Uint8Array; want: string }[] = [
    { name: 'empty', bytes: new Uint8Array(0), want: 'short' },
    { name: 'one byte short', bytes: good.subarray(0, SEGMENT_HEADER_BYTES - 1), want: 'short' },
    { name: 'magic', bytes: mutate((b) => (b[0] = 0x00)), want: 'bad-magic' },
    { name: 'version flipped, crc stale', bytes: mutate((b) => (b[4] = 0x41)), want: 'bad-crc' },
    { name: 'first seq flipped', bytes: mutate((b) => (b[9] = 0x01)), want: 'bad-crc' },
    { name: 'crc flipped', bytes: mutate((b) => (b[22] = 0xee)), want: 'bad-crc' },
    {
      name: 'intact header of version 2',
      bytes: mutate((_, dv) => dv.setUint32(4, 2, true), true),
      want: 'unsupported-version',
    },
    {
      name: 'intact header with unknown flags',
      bytes: mutate((_, dv) => dv.setUint32(16, 2, true), true),
      want: 'unsupported-version',
    },
    { name: 'first seq 0', bytes: mutate((_, dv) => dv.setBigUint64(8, 0n, true), true), want: 'bad-seq' },
    {
      name: 'first seq ≥ 2^53',
      bytes: mutate((_, dv) => dv.setBigUint64(8, 1n << 53n, true), true),
      want: 'bad-seq',
    },
  ];
  for (const c of cases) assert.equal(decodeSegmentHeader(c.bytes).kind, c.want, c.name);
});

void test('segment file names are the zero-padded first seq', () => {
  assert.equal(segmentFileName(1), '00000000000000000001.wal');
  assert.equal(segmentFileName(Number.MAX_SAFE_INTEGER), '00009007199254740991.wal');
  const cases: [string, number | null][] = [
    ['00000000000000000001.wal', 1],
    ['00000000000000012345.wal', 12345],
    ['00000000000000000000.wal', null],
    ['0000000000000000001.wal', null],
    ['00000000000000000001.wal.tmp', null],
    ['99999999999999999999.wal', null],
    ['notes.txt', null],
  ];
  for (const [name, want] of cases) assert.equal(parseSegmentFileName(name), want, name);
});

void test('decodeRecord: incomplete and corrupt frames', () => {
  const frame = new Uint8Array(recordFrameBytes(10));
  encodeRecord(frame, 0, 7, new Uint8Array(10).fill(1));
  assert.deepEqual(decodeRecord(frame, 0, 5), { kind: 'incomplete', frameBytes: RECORD_HEADER_BYTES });
  assert.deepEqual(decodeRecord(frame, 0, frame.length - 1), {
    kind: 'incomplete',
    frameBytes: frame.length,
  });
  const huge = frame.slice();
  new DataView(huge.buffer).setUint32(0, MAX_RECORD_PAYLOAD_BYTES + 1, true);
  assert.equal(
    decodeRecord(huge, 0).kind,
    'corrupt',
    'a length over the maximum is corrupt even before the bytes exist',
  );
  const flipped = frame.slice();
  flipped[20]! ^= 0x01;
  const r = decodeRecord(flipped, 0);
  assert.equal(r.kind, 'corrupt');
  assert.match(r.kind === 'corrupt' ? r.reason : '', /CRC mismatch/);
});

void test('F4: encode → decode round trip', () => {
  fc.assert(
    fc.property(firstSeqs, payloads, (firstSeq, ps) => {
      const decoded = decodeSegment(encodeSegment(firstSeq, ps));
      assert.equal(decoded.problem, null);
      assert.deepEqual(
        decoded.records.map((r) => r.seq),
        ps.map((_, i) => firstSeq + i),
      );
      decoded.records.forEach((r, i) => assert.deepEqual(r.payload, ps[i]));
    }),
    { numRuns: 300 },
  );
});

void test('F4: a random byte flip yields a strict prefix of the records, never an exception', () => {
  fc.assert(
    fc.property(payloads, fc.nat(), fc.integer({ min: 1, max: 255 }), (ps, where, mask) => {
      const bytes = encodeSegment(1, ps);
      const at = where % bytes.length;
      bytes[at]! ^= mask;
      const decoded = decodeSegment(bytes);
      assert.notEqual(decoded.problem, null, 'the flip is detected');
      // Which record did the flip land in? Everything before it must survive intact.
      let damaged = -1;
      for (let i = 0, start = SEGMENT_HEADER_BYTES; i < ps.length && at >= start; i++) {
        damaged = i;
        start += recordFrameBytes(ps[i]!.length);
      }
      const survivors = at < SEGMENT_HEADER_BYTES ? 0 : damaged;
      assert.equal(decoded.records.length, survivors);
      decoded.records.forEach((r, i) => {
        assert.equal(r.seq, i + 1);
        assert.deepEqual(r.payload, ps[i]);
      });
    }),
    { numRuns: 1000 },
  );
});

void test('F4: decodeRecord never looks past `end` (same answer with garbage after it)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 60 }),
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      (p, cut, garbage) => {
        const frame = new Uint8Array(recordFrameBytes(p.length));
        encodeRecord(frame, 0, 3, p);
        const end = cut % (frame.length + 1);
        const exact = frame.slice(0, end);
        const padded = new Uint8Array(end + garbage.length);
        padded.set(exact);
        padded.set(garbage, end);
        const a = decodeRecord(exact, 0);
        const b = decodeRecord(padded, 0, end);
        assert.deepEqual(b, a);
        assert.equal(a.kind, end === frame.length ? 'record' : 'incomplete');
      },
    ),
    { numRuns: 500 },
  );
});
