import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MoleError } from './errors.ts';
import { zstdDecompress } from './zstd.ts';

const tooLarge = () =>
  new MoleError('too large', { code: 'X', status: 413, reason: 'request_body_too_large' });

/** A zstd frame built by hand from RFC 8878: magic, header with content size, blocks. */
function frame(blocks: Uint8Array[]): Uint8Array {
  // Frame_Header_Descriptor 0x00: no content size, no checksum, window descriptor follows.
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]; // window 2^(10+11) = 2 MiB
  return new Uint8Array(Buffer.concat([Buffer.from(header), ...blocks]));
}
/** An RLE block (type 1) of `size` copies of `byte`; `last` ends the frame. */
function rle(byte: number, size: number, last: boolean): Uint8Array {
  const h = (size << 3) | (1 << 1) | (last ? 1 : 0);
  return new Uint8Array([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, byte]);
}
function raw(bytes: Uint8Array, last: boolean): Uint8Array {
  const h = (bytes.length << 3) | (last ? 1 : 0);
  return new Uint8Array([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, ...bytes]);
}

test('decodes raw and RLE blocks', () => {
  const out = zstdDecompress(frame([raw(Buffer.from('hi '), false), rle(0x61, 5, true)]), 1 << 20, tooLarge);
  assert.equal(out.toString(), 'hi aaaaa');
});

test('a bomb stops at the cap, one block over at most', () => {
  const blocks = Array.from({ length: 1000 }, (_, i) => rle(0, 128 * 1024, i === 999)); // 125 MiB from 4 KB
  assert.throws(
    () => zstdDecompress(frame(blocks), 1 << 20, tooLarge),
    (e: unknown) => e instanceof MoleError && e.status === 413,
  );
});

test('garbage and truncated frames are 400s', () => {
  for (const bad of [
    Buffer.from('not zstd'),
    new Uint8Array(0),
    frame([raw(Buffer.from('abc'), true)]).subarray(0, 8),
  ]) {
    assert.throws(
      () => zstdDecompress(bad, 1 << 20, tooLarge),
      (e: unknown) => e instanceof MoleError && e.status === 400,
    );
  }
});
