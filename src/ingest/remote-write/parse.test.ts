import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MoleError } from '../../lib/errors.ts';
import { decodeRemoteWriteV1, decodeRemoteWriteV2 } from './parse.ts';
import { ProtobufWriter } from '../../lib/protobuf-writer.ts';

/** Test requests built with our protobuf writer. */
class W extends ProtobufWriter {
  str(field: number, v: string): this {
    return this.string(field, v);
  }
  msg(field: number, inner: W): this {
    return this.message(field, inner);
  }
  get u8(): Uint8Array {
    return this.finish();
  }
}

const sample = (v: number, t: number) => new W().double(1, v).tag(2, 0).varint(t);

test('v1: series labels, samples in order, metadata, histograms and exemplars counted', () => {
  const ts1 = new W()
    .msg(1, new W().str(1, '__name__').str(2, 'http_requests_total'))
    .msg(1, new W().str(1, 'job').str(2, 'api'))
    .msg(2, sample(1, 1_700_000_000_000))
    .msg(2, sample(2.5, 1_700_000_015_000))
    .msg(3, new W().double(2, 1))
    .msg(4, new W().tag(1, 0).varint(3));
  const ts2 = new W().msg(1, new W().str(1, '__name__').str(2, 'up')).msg(2, sample(Number.NaN, -5));
  const md = new W().tag(1, 0).varint(1).str(2, 'http_requests_total').str(4, 'Requests.').str(5, '');
  const b = decodeRemoteWriteV1(new W().msg(1, ts1).msg(1, ts2).msg(3, md).u8);
  assert.deepEqual(b.series, [
    [
      { name: '__name__', value: 'http_requests_total' },
      { name: 'job', value: 'api' },
    ],
    [{ name: '__name__', value: 'up' }],
  ]);
  assert.equal(b.sampleCount, 3);
  assert.deepEqual([...b.sampleSeries], [0, 0, 1]);
  assert.deepEqual([...b.timestampsMs], [1_700_000_000_000, 1_700_000_015_000, -5]);
  assert.deepEqual([...b.values].slice(0, 2), [1, 2.5]);
  assert.ok(Number.isNaN(b.values[2]));
  assert.deepEqual(b.metadata, [
    { metricFamily: 'http_requests_total', type: 'counter', help: 'Requests.', unit: '' },
  ]);
  assert.equal(b.histogramCount, 1);
  assert.equal(b.exemplarCount, 1);
  assert.deepEqual([...b.stale], [0, 0, 0]);
});

test('v1: raw label bytes are one run per series, or none when a sample sits between labels', () => {
  const a = new W().msg(1, new W().str(1, '__name__').str(2, 'up')).msg(1, new W().str(1, 'job').str(2, 'x'));
  const ts1 = a.msg(2, sample(1, 1000));
  const ts2 = new W()
    .msg(1, new W().str(1, '__name__').str(2, 'up'))
    .msg(2, sample(2, 1000))
    .msg(1, new W().str(1, 'job').str(2, 'y'));
  const b = decodeRemoteWriteV1(new W().msg(1, ts1).msg(1, ts2).u8);
  const labelBytes = new W()
    .msg(1, new W().str(1, '__name__').str(2, 'up'))
    .msg(1, new W().str(1, 'job').str(2, 'x')).u8;
  assert.deepEqual(b.body.subarray(b.rawKeyStart[0], b.rawKeyEnd[0]), labelBytes);
  assert.equal(b.rawKeyStart[1], -1);
  assert.deepEqual(b.series[1], [
    { name: '__name__', value: 'up' },
    { name: 'job', value: 'y' },
  ]);
  assert.deepEqual([...b.sampleSeries], [0, 1]);
});

test('v1: sample timestamps of every varint length, fields in either order, decode the same', () => {
  const times = [0, 1, 127, 128, 2 ** 42 - 1, 2 ** 42, 2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1, -1, -5, -(2 ** 40)];
  const varint = (w: W, t: number) => (t >= 0 ? w.varint(t) : w.varint(BigInt.asUintN(64, BigInt(t))));
  for (const t of times) {
    const labels = new W().str(1, '__name__').str(2, 'up');
    const usual = new W().msg(1, labels).msg(2, varint(new W().double(1, 1.5).tag(2, 0), t));
    const swapped = new W().msg(1, labels).msg(2, varint(new W().tag(2, 0), t).double(1, 1.5));
    for (const ts of [usual, swapped]) {
      const b = decodeRemoteWriteV1(new W().msg(1, ts).u8);
      assert.deepEqual([...b.timestampsMs], [t], `t=${t}`);
      assert.deepEqual([...b.values], [1.5]);
    }
  }
});

test('v1: the StaleNaN bit pattern is a staleness marker, another NaN is not', () => {
  const ts = new W()
    .msg(1, new W().str(1, '__name__').str(2, 'up'))
    .msg(2, new W().doubleBits(1, 0x7ff0000000000002n).tag(2, 0).varint(1000))
    .msg(2, new W().doubleBits(1, 0x7ff8000000000001n).tag(2, 0).varint(2000));
  const b = decodeRemoteWriteV1(new W().msg(1, ts).u8);
  assert.deepEqual([...b.stale], [1, 0]);
});

test('v1: a metadata-only request (as Prometheus sends) has no series', () => {
  const b = decodeRemoteWriteV1(
    new W().msg(3, new W().tag(1, 0).varint(2).str(2, 'temp').str(4, 'Temperature.').str(5, 'celsius')).u8,
  );
  assert.equal(b.series.length, 0);
  assert.deepEqual(b.metadata, [
    { metricFamily: 'temp', type: 'gauge', help: 'Temperature.', unit: 'celsius' },
  ]);
});

test('v1: a label value that is not UTF-8 is a 400, every time it is sent', () => {
  const bad = new W().msg(
    1,
    new W().msg(1, new W().str(1, '__name__').bytesField(2, Uint8Array.of(0x75, 0xff))).msg(2, sample(1, 1)),
  ).u8;
  for (let i = 0; i < 2; i++) {
    const b = decodeRemoteWriteV1(bad);
    assert.throws(
      () => b.labelsAt(0),
      (e: MoleError) => e.status === 400 && /label value at offset \d+ is not valid UTF-8/.test(e.message),
    );
  }
});

test('v2: symbol table, packed label refs, samples and metadata', () => {
  const symbols = ['', '__name__', 'cpu_seconds_total', 'mode', 'idle', 'CPU time.', 'seconds'];
  const ts = new W()
    .tag(1, 2)
    .varint(4)
    .varint(1)
    .varint(2)
    .varint(3)
    .varint(4)
    .msg(2, sample(12.5, 1000))
    .msg(2, sample(13, 2000))
    .msg(5, new W().tag(1, 0).varint(1).tag(3, 0).varint(5).tag(4, 0).varint(6));
  const req = new W();
  for (const s of symbols) req.str(4, s);
  req.msg(5, ts);
  const b = decodeRemoteWriteV2(req.u8);
  assert.deepEqual(b.series, [
    [
      { name: '__name__', value: 'cpu_seconds_total' },
      { name: 'mode', value: 'idle' },
    ],
  ]);
  assert.deepEqual([...b.values], [12.5, 13]);
  assert.deepEqual([...b.timestampsMs], [1000, 2000]);
  assert.deepEqual(b.metadata, [
    { metricFamily: 'cpu_seconds_total', type: 'counter', help: 'CPU time.', unit: 'seconds' },
  ]);
});

test('v2: a label ref outside the symbol table is a 400 naming it', () => {
  const req = new W().str(4, '').str(4, 'a').msg(5, new W().tag(1, 2).varint(2).varint(1).varint(9));
  assert.throws(
    () => decodeRemoteWriteV2(req.u8),
    (e: MoleError) => e.status === 400 && /symbol 9/.test(e.message),
  );
});

test('random and mutated bodies never throw anything but MoleError', () => {
  const valid = new W().msg(
    1,
    new W().msg(1, new W().str(1, '__name__').str(2, 'm')).msg(2, sample(1, 2)),
  ).u8;
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 120 }),
      fc.nat(valid.length - 1),
      fc.nat(255),
      (random, at, byte) => {
        const mutated = valid.slice();
        mutated[at] = byte;
        for (const input of [random, mutated]) {
          for (const decode of [decodeRemoteWriteV1, decodeRemoteWriteV2]) {
            try {
              decode(input);
            } catch (e) {
              assert.ok(e instanceof MoleError, String(e));
            }
          }
        }
      },
    ),
    { numRuns: 1500 },
  );
});
