/**
 * A small direct-mapped cache from UTF-8 bytes to the decoded JS string, for the short strings
 * that repeat in every record (attribute keys, enum-like values such as "GET" or "INFO").
 * A hit skips UTF-8 decoding and returns the same string object, whose hash V8 has already
 * computed, so the column lookup by name that follows is cheap too.
 *
 * Bounded: `slots` entries of at most `maxBytes` bytes each, allocated once per decode; a miss
 * overwrites its slot, so high-cardinality values cost a copy, never growth.
 */
export class StringCache {
  private readonly maxBytes: number;
  private readonly mask: number;
  private readonly arena: Uint8Array;
  private readonly lengths: Int32Array;
  private readonly strings: string[];
  private readonly decode: (start: number, end: number) => string;

  constructor(slots: number, maxBytes: number, decode: (start: number, end: number) => string) {
    // slots must be a power of two for masking.
    this.mask = slots - 1;
    this.maxBytes = maxBytes;
    this.arena = new Uint8Array(slots * maxBytes);
    this.lengths = new Int32Array(slots).fill(-1);
    this.strings = new Array<string>(slots).fill('');
    this.decode = decode;
  }

  /** The string for buf[start, end). */
  get(buf: Uint8Array, start: number, end: number): string {
    const len = end - start;
    if (len === 0) return '';
    if (len > this.maxBytes) return this.decode(start, end);
    // A cheap hash of the length and a few bytes picks the slot; the full comparison decides.
    const h =
      Math.imul(len, 0x9e3779b1) ^
      Math.imul(
        buf[start]! |
          (buf[end - 1]! << 8) |
          (buf[start + (len >> 1)]! << 16) |
          (buf[end - 2 + (len === 1 ? 1 : 0)]! << 24),
        0x85ebca6b,
      );
    const slot = (h ^ (h >>> 16)) & this.mask;
    const arena = this.arena;
    const base = slot * this.maxBytes;
    if (this.lengths[slot] === len) {
      let i = 0;
      while (i < len && arena[base + i] === buf[start + i]) i++;
      if (i === len) return this.strings[slot]!;
    }
    const s = this.decode(start, end);
    for (let i = 0; i < len; i++) arena[base + i] = buf[start + i]!;
    this.lengths[slot] = len;
    this.strings[slot] = s;
    return s;
  }
}
