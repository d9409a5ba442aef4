import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MoleError } from './errors.ts';
import { snappyCompress, snappyDecompress } from './snappy.ts';

const enc = new TextEncoder();

test('round trips text, runs and binary data', () => {
  const cases = [
    new Uint8Array(0),
    enc.encode('a'),
    enc.encode('hello hello hello hello hello world'),
    new Uint8Array(100_000).fill(7),
    Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251),
    enc.encode('metric{job="api",instance="a:9090"} '.repeat(500)),
  ];
  for (const c of cases) assert.deepEqual(snappyDecompress(snappyCompress(c), 1 << 24), c);
});

test('decodes a hand-made block with an overlapping copy (run-length)', () => {
  // length 10, literal "ab", copy len 8 offset 2 (tag type 2: (8-1)<<2|2)
  const block = Uint8Array.from([10, (2 - 1) << 2, 0x61, 0x62, (7 << 2) | 2, 2, 0]);
  assert.equal(new TextDecoder().decode(snappyDecompress(block, 100)), 'ababababab');
});

test('every copy length and offset, overlapping or not, and every literal length decode like a byte-by-byte copy', () => {
  const prefix = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff);
  for (let literal = 1; literal <= 100; literal += 1) {
    for (const len of [1, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64]) {
      for (let offset = 1; offset <= literal; offset += literal > 20 ? 7 : 1) {
        const expected = [...prefix.subarray(0, literal)];
        for (let i = 0; i < len; i++) expected.push(expected[expected.length - offset]!);
        const literalTag = literal <= 60 ? [(literal - 1) << 2] : [60 << 2, literal - 1];
        const n = expected.length;
        const block = Uint8Array.from([
          ...(n < 128 ? [n] : [(n & 0x7f) | 0x80, n >> 7]),
          ...literalTag,
          ...prefix.subarray(0, literal),
          ((len - 1) << 2) | 2,
          offset & 0xff,
          offset >> 8,
        ]);
        assert.deepEqual(
          [...snappyDecompress(block, 1000)],
          expected,
          `literal ${literal} len ${len} offset ${offset}`,
        );
      }
    }
  }
});

test('a declared length over the limit is refused before allocating (413)', () => {
  const lie = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]); // 4 GiB declared
  assert.throws(
    () => snappyDecompress(lie, 32 << 20),
    (e: MoleError) => e.status === 413 && /4294967295/.test(e.message),
  );
});

test('corrupt inputs are 400 with the problem named', () => {
  const cases: [number[], RegExp][] = [
    [[], /truncated length/],
    [[5, 0x10], /literal of 5 bytes/],
    [[4, (3 << 2) | 2, 9, 0], /copy offset 9/],
    [[2, 0, 0x61], /decoded 1 bytes, the preamble declared 2/],
    [[1, 4, 0x61, 0x62], /runs past the input|exceeds/],
    [[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /longer than 5 bytes/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => snappyDecompress(Uint8Array.from(bytes), 1000),
      (e: MoleError) => e instanceof MoleError && e.status === 400 && re.test(e.message),
      String(bytes),
    );
  }
});

test('random and mutated inputs never throw anything but MoleError, never exceed the limit', () => {
  const valid = snappyCompress(enc.encode('the quick brown fox jumps over the lazy dog '.repeat(20)));
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.nat(valid.length - 1),
      fc.nat(255),
      (random, at, byte) => {
        const mutated = valid.slice();
        mutated[at] = byte;
        for (const input of [random, mutated]) {
          try {
            const out = snappyDecompress(input, 4096);
            assert.ok(out.length <= 4096);
          } catch (e) {
            assert.ok(e instanceof MoleError, String(e));
          }
        }
      },
    ),
    { numRuns: 2000 },
  );
});
