import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StringInterner } from './string-interner.ts';

const enc = new TextEncoder();

test('equal bytes anywhere decode to the same string; invalid UTF-8 throws and is never cached', () => {
  const interner = new StringInterner();
  const a = enc.encode('xxjob=api ünï');
  const b = enc.encode('job=api ünï');
  const s = interner.decode(a, 2, a.length);
  assert.equal(s, 'job=api ünï');
  assert.equal(interner.decode(b, 0, b.length), s);
  assert.equal(interner.decode(b, 0, 3), 'job');
  assert.equal(interner.decode(b, 0, 0), '');
  const bad = Uint8Array.of(0x61, 0xff, 0x62);
  for (let i = 0; i < 2; i++) assert.throws(() => interner.decode(bad, 0, bad.length), TypeError);
});

test('bounded: past the entry limit it starts over, long strings are decoded every time', () => {
  const interner = new StringInterner(3, 1 << 20, 8);
  const words = ['a', 'b', 'c', 'd', 'e', 'a', 'b'].map((w) => enc.encode(w));
  for (const w of words) assert.equal(interner.decode(w, 0, w.length), new TextDecoder().decode(w));
  const long = enc.encode('0123456789');
  assert.equal(interner.decode(long, 0, long.length), '0123456789');
  assert.equal(interner.decode(long, 1, 9), '12345678');
});
