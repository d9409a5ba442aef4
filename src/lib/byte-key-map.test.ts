import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteKeyMap, hashBytes } from './byte-key-map.ts';

const enc = new TextEncoder();

test('keys are byte ranges of any buffer: equal bytes find the value wherever they sit', () => {
  const m = new ByteKeyMap();
  const a = enc.encode('xx__name__=up,job=api;');
  m.set(a, 2, a.length - 1, 7);
  const b = enc.encode('__name__=up,job=api');
  assert.equal(m.get(b, 0, b.length), 7);
  assert.equal(m.get(b, 0, b.length - 1), 0, 'a prefix is another key');
  assert.equal(m.get(enc.encode('__name__=up,job=apj'), 0, b.length), 0, 'one byte differs');
  m.set(b, 0, b.length, 9);
  assert.equal(m.get(a, 2, a.length - 1), 9, 'set replaces');
  assert.equal(m.size, 1);
  m.set(b, 0, 0, 3);
  assert.equal(m.get(a, 0, 0), 3, 'the empty key is a key');
  assert.throws(() => m.set(b, 0, 1, 0), RangeError);
  m.clear();
  assert.equal(m.size, 0);
  assert.equal(m.get(b, 0, b.length), 0);
});

test('hash: every length up to 3 tail bytes counts, and the same bytes hash the same anywhere', () => {
  const bytes = enc.encode('abcdefgh');
  const seen = new Set<number>();
  for (let n = 0; n <= 8; n++) seen.add(hashBytes(bytes, 0, n));
  assert.equal(seen.size, 9);
  assert.equal(hashBytes(enc.encode('--abcd'), 2, 6), hashBytes(enc.encode('abcd'), 0, 4));
});

test('agrees with a Map of strings over many keys, growth and clear', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 2 ** 32 - 1 })), {
        maxLength: 3000,
      }),
      fc.integer({ min: 0, max: 7 }),
      (entries, pad) => {
        const m = new ByteKeyMap();
        const ref = new Map<string, number>();
        const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
        // keys sit at an offset in a bigger buffer, as label bytes do in a request body
        const placed = (b: Uint8Array) => {
          const buf = new Uint8Array(pad + b.length + 3);
          buf.set(b, pad);
          return buf;
        };
        for (const [k, v] of entries) {
          m.set(placed(k), pad, pad + k.length, v);
          ref.set(key(k), v);
        }
        assert.equal(m.size, ref.size);
        for (const [k] of entries) assert.equal(m.get(placed(k), pad, pad + k.length), ref.get(key(k)));
        const absent = Uint8Array.from({ length: 41 }, (_, i) => i + 1); // longer than any key
        assert.equal(m.get(absent, 0, absent.length), 0);
      },
    ),
    { numRuns: 50 },
  );
});
