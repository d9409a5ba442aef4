/**
 * Snappy block-format decompression (https://github.com/google/snappy/blob/main/format_description.txt),
 * as Prometheus remote_write and Loki push send it. The declared length is checked against the
 * caller's limit before anything is allocated (a 1 KB body cannot make us allocate 4 GB), and
 * every copy is bounds-checked. The only errors are MoleErrors: 413 over the limit, 400 otherwise.
 */
import { MoleError, badRequest } from './errors.ts';

const corrupt = (message: string) =>
  badRequest(`malformed snappy data: ${message}`, 'MS_ERR_BAD_SNAPPY', 'bad_encoding');

export function snappyDecodedLength(src: Uint8Array): { length: number; headerBytes: number } {
  let length = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= src.length) throw corrupt('truncated length preamble');
    const b = src[i]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (length > 0xffffffff) throw corrupt('length preamble overflows 32 bits');
      return { length, headerBytes: i + 1 };
    }
    shift += 7;
  }
  throw corrupt('length preamble is longer than 5 bytes');
}

export function snappyDecompress(src: Uint8Array, maxDecodedBytes: number): Uint8Array {
  const { length, headerBytes } = snappyDecodedLength(src);
  if (length > maxDecodedBytes) {
    throw new MoleError(
      `snappy body declares ${length} decoded bytes, over ingest.maxDecodedBytes=${maxDecodedBytes}; send smaller batches`,
      {
        code: 'MS_ERR_BODY_TOO_LARGE',
        status: 413,
        reason: 'request_body_too_large',
      },
    );
  }
  const out = new Uint8Array(length);
  let s = headerBytes;
  let d = 0;
  while (s < src.length) {
    const tag = src[s++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = (tag >>> 2) + 1;
        if (len > 60) {
          const extra = len - 60;
          if (s + extra > src.length) throw corrupt(`truncated literal length at offset ${s - 1}`);
          len = 0;
          for (let i = 0; i < extra; i++) len += src[s + i]! * 2 ** (8 * i);
          len += 1;
          s += extra;
        }
        if (s + len > src.length) throw corrupt(`literal of ${len} bytes at offset ${s} runs past the input`);
        if (d + len > length) throw corrupt(`output exceeds the declared ${length} bytes`);
        // short literals byte by byte: a subarray view per literal costs more than the copy
        if (len < 16) for (let i = 0; i < len; i++) out[d + i] = src[s + i]!;
        else out.set(src.subarray(s, s + len), d);
        s += len;
        d += len;
        continue;
      }
      case 1:
        if (s >= src.length) throw corrupt(`truncated copy at offset ${s - 1}`);
        len = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | src[s++]!;
        break;
      case 2:
        if (s + 2 > src.length) throw corrupt(`truncated copy at offset ${s - 1}`);
        len = (tag >>> 2) + 1;
        offset = src[s]! | (src[s + 1]! << 8);
        s += 2;
        break;
      default:
        if (s + 4 > src.length) throw corrupt(`truncated copy at offset ${s - 1}`);
        len = (tag >>> 2) + 1;
        offset = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16)) + src[s + 3]! * 2 ** 24;
        s += 4;
    }
    if (offset === 0 || offset > d)
      throw corrupt(`copy offset ${offset} at output position ${d} is out of range`);
    if (d + len > length) throw corrupt(`output exceeds the declared ${length} bytes`);
    if (offset >= len && len >= 8) {
      out.copyWithin(d, d - offset, d - offset + len);
      d += len;
    } else {
      // byte by byte: a copy may overlap its own output (run-length encoding)
      for (let i = 0; i < len; i++, d++) out[d] = out[d - offset]!;
    }
  }
  if (d !== length) throw corrupt(`decoded ${d} bytes, the preamble declared ${length}`);
  return out;
}

/**
 * A small, correct snappy compressor (greedy 4-byte hash matches). Used for answers we send
 * snappy-encoded and by tests; not tuned for speed.
 */
export function snappyCompress(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let n = src.length;
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  const table = new Map<number, number>();
  let lit = 0;
  const emitLiteral = (from: number, to: number) => {
    for (let p = from; p < to;) {
      const len = Math.min(to - p, 65536);
      if (len <= 60) out.push((len - 1) << 2);
      else if (len <= 256) out.push(60 << 2, len - 1);
      else out.push(61 << 2, (len - 1) & 0xff, (len - 1) >>> 8);
      for (let i = 0; i < len; i++) out.push(src[p + i]!);
      p += len;
    }
  };
  let i = 0;
  while (i + 4 <= src.length) {
    const key = src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24);
    const cand = table.get(key);
    table.set(key, i);
    if (cand !== undefined && i - cand <= 65535) {
      let len = 4;
      while (i + len < src.length && len < 64 && src[cand + len] === src[i + len]) len++;
      emitLiteral(lit, i);
      const offset = i - cand;
      out.push(((len - 1) << 2) | 2, offset & 0xff, offset >>> 8);
      i += len;
      lit = i;
    } else i++;
  }
  emitLiteral(lit, src.length);
  return Uint8Array.from(out);
}
