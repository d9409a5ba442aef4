import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufWriter as W } from '../../lib/protobuf-writer.ts';
import { decodeExemplars } from './exemplars.ts';

test('remote_write 1.0: exemplars with their series labels', () => {
  const ts = new W()
    .message(1, new W().string(1, '__name__').string(2, 'http_seconds_bucket'))
    .message(1, new W().string(1, 'le').string(2, '0.5'))
    .message(2, new W().double(1, 3).uint(2, 1000))
    .message(
      3,
      new W().message(1, new W().string(1, 'trace_id').string(2, 'abc')).double(2, 0.42).uint(3, 999),
    );
  const out = decodeExemplars(
    new W()
      .message(1, ts)
      .message(1, new W().message(1, new W().string(1, '__name__').string(2, 'x')))
      .finish(),
    false,
  );
  assert.deepEqual(out, [
    {
      series: [
        { name: '__name__', value: 'http_seconds_bucket' },
        { name: 'le', value: '0.5' },
      ],
      labels: [{ name: 'trace_id', value: 'abc' }],
      value: 0.42,
      timestampMs: 999,
    },
  ]);
});

test('remote_write 2.0: label refs through the symbol table, packed', () => {
  const symbols = ['', '__name__', 'rpc_seconds', 'trace_id', 'f00d'];
  const req = new W();
  for (const s of symbols) req.string(4, s);
  const packed = (...refs: number[]) => {
    const w = new W();
    for (const r of refs) w.varint(r);
    return w.finish();
  };
  const ts = new W()
    .bytesField(1, packed(1, 2))
    .message(2, new W().double(1, 1).uint(3, 5))
    .message(4, new W().bytesField(1, packed(3, 4)).double(2, 7).uint(3, 5));
  req.message(5, ts);
  const out = decodeExemplars(req.finish(), true);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]!.series, [{ name: '__name__', value: 'rpc_seconds' }]);
  assert.deepEqual(out[0]!.labels, [{ name: 'trace_id', value: 'f00d' }]);
  assert.equal(out[0]!.value, 7);
  assert.equal(out[0]!.timestampMs, 5);
});
