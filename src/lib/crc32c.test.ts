import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from './crc32c.ts';

/** Bit-at-a-time reference straight from the definition, to check the sliced tables against. */
function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

const ascii = (s: string) => new TextEncoder().encode(s);
const bytes = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i));

// RFC 3720 appendix B.4 (the CRC bytes there are listed in wire order, i.e. little-endian), plus the
// customary "123456789" check value.
const VECTORS: { name: string; data: Uint8Array; crc: number }[] = [
  { name: 'empty', data: new Uint8Array(0), crc: 0x00000000 },
  { name: '"123456789"', data: ascii('123456789'), crc: 0xe3069283 },
  { name: '32 bytes of zeros', data: new Uint8Array(32), crc: 0x8a9136aa },
  { name: '32 bytes of 0xff', data: new Uint8Array(32).fill(0xff), crc: 0x62a8ab43 },
  { name: '32 incrementing bytes', data: bytes(32, (i) => i), crc: 0x46dd794e },
  { name: '32 decrementing bytes', data: bytes(32, (i) => 31 - i), crc: 0x113fdb5c },
  {
    name: 'iSCSI read(10) command PDU',
    data: Uint8Array.from([
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]),
    crc: 0xd9963a56,
  },
];

for (const v of VECTORS) {
  void test(`crc32c: ${v.name}`, () => {
    assert.equal(crc32c(v.data), v.crc);
    assert.equal(crc32cBitwise(v.data), v.crc);
  });
}

void test('crc32c: a range of a larger buffer equals the checksum of that slice', () => {
  const data = ascii('xx123456789yy');
  assert.equal(crc32c(data, 0, 2, 11), 0xe3069283);
  assert.equal(crc32c(data.subarray(2, 11)), 0xe3069283);
});

void test('crc32c: matches the bitwise reference on random data of every alignment and length', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(16), (data, skip) => {
      const start = Math.min(skip, data.length);
      assert.equal(crc32c(data, 0, start), crc32cBitwise(data.subarray(start)));
    }),
    { numRuns: 500 },
  );
});

void test('crc32c: continues across a split, crc(a ++ b) === crc(b, crc(a))', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a, b) => {
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      assert.equal(crc32c(b, crc32c(a)), crc32c(joined));
    }),
    { numRuns: 300 },
  );
});
