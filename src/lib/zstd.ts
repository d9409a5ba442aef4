/**
 * Bounded zstd decompression (RFC 8878) with fzstd, a pure-JS decoder: Node 20's zlib has no zstd
 * (it arrived in 22.15), and the native binding needs a source build at install
 * (../shared/notes/ecosystem.md §4). The frame is decoded block by block through fzstd's
 * streaming API and decoding stops as soon as the output passes the cap, so a small bomb never
 * grows the heap past `maxDecodedBytes` plus one block (≤ 128 KiB).
 */
import { Decompress } from 'fzstd';
import { badRequest, MoleError } from './errors.ts';

/** Input is fed in slices so that one push cannot decode an unbounded number of blocks. */
const INPUT_SLICE_BYTES = 16 * 1024;

class OverLimit extends Error {}

export function zstdDecompress(src: Uint8Array, maxDecodedBytes: number, tooLarge: () => MoleError): Buffer {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const stream = new Decompress((chunk) => {
    size += chunk.length;
    if (size > maxDecodedBytes) throw new OverLimit();
    chunks.push(chunk);
  });
  try {
    if (src.length === 0) throw new Error('empty body');
    for (let o = 0; o < src.length; o += INPUT_SLICE_BYTES) {
      const end = Math.min(src.length, o + INPUT_SLICE_BYTES);
      stream.push(src.subarray(o, end), end === src.length);
    }
  } catch (e) {
    if (e instanceof OverLimit) throw tooLarge();
    throw badRequest(
      `body is not valid zstd data: ${(e as Error).message}`,
      'MS_ERR_BAD_ENCODING',
      'bad_encoding',
    );
  }
  return Buffer.concat(chunks, size);
}
