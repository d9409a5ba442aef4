import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MoleError } from './errors.ts';
import { ProtobufReader } from './protobuf-reader.ts';

/** Encodes an unsigned 64-bit value (negative numbers as two's complement) as a varint. */
function varint(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

test('varint round-trips across every byte length, as int64 and as low/high words', () => {
  const cases = [
    0n,
    1n,
    127n,
    128n,
    300n,
    (1n << 28n) - 1n,
    1n << 28n,
    (1n << 32n) - 1n,
    1n << 32n,
    (1n << 35n) + 5n,
    (1n << 49n) + 12345n,
    (1n << 56n) + 1n,
    (1n << 63n) - 1n,
    -1n,
    -42n,
    -(1n << 63n),
  ];
  for (const v of cases) {
    const bytes = new Uint8Array(varint(v));
    const r = new ProtobufReader(bytes);
    assert.equal(r.int64(bytes.length), v, `int64 ${v}`);
    assert.equal(r.pos, bytes.length);
    const r2 = new ProtobufReader(bytes);
    const lo = r2.varint(bytes.length);
    const u = BigInt.asUintN(64, v);
    assert.equal(lo, Number(u & 0xffffffffn), `low word of ${v}`);
    assert.equal(r2.hi, Number(u >> 32n), `high word of ${v}`);
  }
});

test('int32 and uint32 take the low 32 bits; bool is any non-zero varint', () => {
  const neg = new Uint8Array(varint(-5n));
  assert.equal(new ProtobufReader(neg).int32(neg.length), -5);
  const big = new Uint8Array(varint(0xffffffffn));
  assert.equal(new ProtobufReader(big).uint32(big.length), 0xffffffff);
  const highOnly = new Uint8Array(varint(1n << 40n));
  assert.equal(new ProtobufReader(highOnly).bool(highOnly.length), true);
});

test('fixed64, fixed32 and double are little-endian', () => {
  const bytes = new Uint8Array(20);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, 0xfedcba9876543210n, true);
  view.setUint32(8, 0xdeadbeef, true);
  view.setFloat64(12, -2.5, true);
  const r = new ProtobufReader(bytes);
  assert.equal(r.fixed64(20), 0xfedcba9876543210n);
  assert.equal(r.fixed32(20), 0xdeadbeef);
  assert.equal(r.double(20), -2.5);
});

test('lengthDelimited and skip stay inside the enclosing end, not just the buffer', () => {
  // A 3-byte field declared inside a 2-byte parent, with plenty of buffer left.
  const bytes = new Uint8Array([0x0a, 0x03, 1, 2, 3, 4, 5]);
  const r = new ProtobufReader(bytes);
  r.tag(2);
  assert.throws(
    () => r.lengthDelimited(2),
    (e: unknown) =>
      e instanceof MoleError &&
      /length 3 at offset 1 runs past the end of its enclosing field \(which ends at offset 2/.test(
        e.message,
      ),
  );
});

test('every wire type is skipped', () => {
  const bytes = new Uint8Array([
    ...[0x08, ...varint(1n << 60n)], // field 1 varint
    ...[0x11, 1, 2, 3, 4, 5, 6, 7, 8], // field 2 fixed64
    ...[0x1a, 2, 9, 9], // field 3 length-delimited
    ...[0x25, 1, 2, 3, 4], // field 4 fixed32
  ]);
  const r = new ProtobufReader(bytes);
  let fields = 0;
  while (r.pos < bytes.length) {
    r.skip(r.tag(bytes.length), bytes.length);
    fields++;
  }
  assert.equal(fields, 4);
});

const malformed: {
  name: string;
  bytes: number[];
  read: (r: ProtobufReader, end: number) => unknown;
  message: RegExp;
}[] = [
  { name: 'empty varint', bytes: [], read: (r, e) => r.varint(e), message: /truncated varint at offset 0/ },
  {
    name: 'truncated varint',
    bytes: [0x80, 0x80],
    read: (r, e) => r.varint(e),
    message: /truncated varint at offset 0/,
  },
  {
    name: 'varint longer than 10 bytes',
    bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    read: (r, e) => r.varint(e),
    message: /varint at offset 0 is longer than 10 bytes/,
  },
  {
    name: 'varint overflowing 64 bits',
    bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
    read: (r, e) => r.varint(e),
    message: /overflows 64 bits/,
  },
  {
    name: 'truncated fixed64',
    bytes: [1, 2, 3],
    read: (r, e) => r.fixed64(e),
    message: /truncated fixed64 at offset 0: needs 8 bytes, 3 left/,
  },
  {
    name: 'truncated fixed32',
    bytes: [1],
    read: (r, e) => r.fixed32(e),
    message: /truncated fixed32 at offset 0: needs 4 bytes, 1 left/,
  },
  { name: 'truncated double', bytes: [], read: (r, e) => r.double(e), message: /truncated fixed64/ },
  {
    name: 'length past the end',
    bytes: [0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0],
    read: (r, e) => r.lengthDelimited(e),
    message: /length 4294967295 at offset 0 runs past the end of the 7-byte message/,
  },
  {
    name: 'negative length (int64 -1)',
    bytes: [...varint(-1n)],
    read: (r, e) => r.lengthDelimited(e),
    message: /length 18446744073709551615 at offset 0 runs past the end/,
  },
  {
    name: 'start group',
    bytes: [0x0b],
    read: (r, e) => r.tag(e),
    message: /wire type 3 \(start group\) for field 1 at offset 0: groups are not supported/,
  },
  { name: 'end group', bytes: [0x0c], read: (r, e) => r.tag(e), message: /wire type 4 \(end group\)/ },
  {
    name: 'wire type 6',
    bytes: [0x0e],
    read: (r, e) => r.tag(e),
    message: /invalid wire type 6 for field 1 at offset 0/,
  },
  { name: 'wire type 7', bytes: [0x0f], read: (r, e) => r.tag(e), message: /invalid wire type 7/ },
  {
    name: 'field number 0',
    bytes: [0x02],
    read: (r, e) => r.tag(e),
    message: /field number 0 at offset 0 is invalid/,
  },
  {
    name: 'tag beyond 32 bits',
    bytes: [...varint(1n << 35n)],
    read: (r, e) => r.tag(e),
    message: /tag at offset 0 overflows 32 bits/,
  },
];

for (const c of malformed) {
  test(`malformed: ${c.name}`, () => {
    const bytes = new Uint8Array(c.bytes);
    assert.throws(
      () => c.read(new ProtobufReader(bytes), bytes.length),
      (e: unknown) => {
        assert.ok(e instanceof MoleError, `expected MoleError, got ${String(e)}`);
        assert.equal(e.status, 400);
        assert.equal(e.code, 'MS_ERR_BAD_PROTOBUF');
        assert.equal(e.reason, 'bad_protobuf');
        assert.match(e.message, /^malformed protobuf: /);
        assert.match(e.message, c.message);
        return true;
      },
    );
  });
}
