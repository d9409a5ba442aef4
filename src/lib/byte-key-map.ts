/**
 * A hash map from byte strings to non-zero uint32 values whose keys are looked up straight from a
 * range of a caller's buffer: no JS string, object or copy is made per lookup. Built for the
 * remote_write hot path, where every request carries every series' full label bytes and a known
 * series must be found from those bytes (a JS string key per series cost a latin1 decode, a string
 * hash and the garbage of both).
 *
 * Invariant: a hit means byte-for-byte equality with a stored key (the hash only picks the slot
 * chain). Keys live back to back in one arena; the table is open addressing with linear probing
 * and stays at most half full. There is no delete: `clear()` drops everything.
 */

/** MurmurHash3 (x86, 32-bit) of bytes [start, end) of `view`. */
function hashView(view: DataView, start: number, end: number): number {
  let h = 0x9747b28c ^ (end - start);
  let i = start;
  for (const stop = end - 3; i < stop; i += 4) {
    let k = view.getInt32(i, true);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (end - i) {
    case 3:
      k ^= view.getUint8(i + 2) << 16;
    // falls through
    case 2:
      k ^= view.getUint8(i + 1) << 8;
    // falls through
    case 1:
      k ^= view.getUint8(i);
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, 0x1b873593);
  }
  return fmix32(h);
}

/** MurmurHash3's 32-bit finalizer: spreads every input bit over the result. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 (x86, 32-bit) of bytes [start, end) of `buf`. */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  return hashView(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), start, end);
}

const INITIAL_SLOTS = 1024;
const INITIAL_ARENA_BYTES = 64 * 1024;

export class ByteKeyMap {
  /** slot → entry index + 1 (0 = empty) */
  private slots = new Uint32Array(INITIAL_SLOTS);
  private hashes = new Uint32Array(INITIAL_SLOTS / 2);
  private starts = new Uint32Array(INITIAL_SLOTS / 2);
  private lengths = new Uint32Array(INITIAL_SLOTS / 2);
  private values = new Uint32Array(INITIAL_SLOTS / 2);
  private arena = new Uint8Array(INITIAL_ARENA_BYTES);
  private arenaView = new DataView(this.arena.buffer);
  private arenaUsed = 0;
  size = 0;

  /** Bytes held by keys. */
  get keyBytes(): number {
    return this.arenaUsed;
  }

  /** The value stored for bytes [start, end) of `buf`, or 0 when there is none. */
  get(buf: Uint8Array, start: number, end: number): number {
    const hash = hashView(this.viewOf(buf), start, end);
    const mask = this.slots.length - 1;
    const len = end - start;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s]!;
      if (e === 0) return 0;
      const i = e - 1;
      if (this.hashes[i] === hash && this.lengths[i] === len && this.equals(i, buf, start, len))
        return this.values[i]!;
    }
  }

  /** Stores `value` (non-zero) for bytes [start, end) of `buf`, replacing any value it had. */
  set(buf: Uint8Array, start: number, end: number, value: number): void {
    if (value === 0) throw new RangeError('ByteKeyMap values must be non-zero');
    const hash = hashView(this.viewOf(buf), start, end);
    const len = end - start;
    let mask = this.slots.length - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s]!;
      if (e === 0) break;
      const i = e - 1;
      if (this.hashes[i] === hash && this.lengths[i] === len && this.equals(i, buf, start, len)) {
        this.values[i] = value;
        return;
      }
    }
    if ((this.size + 1) * 2 > this.slots.length) {
      this.grow();
      mask = this.slots.length - 1;
    }
    if (this.arenaUsed + len > this.arena.length) {
      const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + len));
      bigger.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = bigger;
      this.arenaView = new DataView(bigger.buffer);
    }
    const i = this.size++;
    this.arena.set(buf.subarray(start, end), this.arenaUsed);
    this.starts[i] = this.arenaUsed;
    this.lengths[i] = len;
    this.hashes[i] = hash;
    this.values[i] = value;
    this.arenaUsed += len;
    let s = hash & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = i + 1;
  }

  clear(): void {
    this.slots = new Uint32Array(INITIAL_SLOTS);
    this.hashes = new Uint32Array(INITIAL_SLOTS / 2);
    this.starts = new Uint32Array(INITIAL_SLOTS / 2);
    this.lengths = new Uint32Array(INITIAL_SLOTS / 2);
    this.values = new Uint32Array(INITIAL_SLOTS / 2);
    this.arena = new Uint8Array(INITIAL_ARENA_BYTES);
    this.arenaView = new DataView(this.arena.buffer);
    this.arenaUsed = 0;
    this.lastBuf = null;
    this.lastView = null;
    this.size = 0;
  }

  private equals(i: number, buf: Uint8Array, start: number, len: number): boolean {
    // 4 bytes at a time through DataViews (unaligned reads, inlined by the JIT), then the tail
    const a = this.viewOf(this.arena);
    const b = this.viewOf(buf);
    let x = this.starts[i]!;
    let y = start;
    for (const stop = x + len - 3; x < stop; x += 4, y += 4)
      if (a.getInt32(x, true) !== b.getInt32(y, true)) return false;
    const arena = this.arena;
    for (const stop = this.starts[i]! + len; x < stop; x++, y++) if (arena[x] !== buf[y]) return false;
    return true;
  }

  /** the last buffer looked up and a DataView on it (a request's keys all come from one body) */
  private lastBuf: Uint8Array | null = null;
  private lastView: DataView | null = null;
  private viewOf(buf: Uint8Array): DataView {
    if (buf === this.arena) return this.arenaView;
    if (buf !== this.lastBuf || this.lastView === null) {
      this.lastBuf = buf;
      this.lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.lastView;
  }

  private grow(): void {
    const slots = new Uint32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let i = 0; i < this.size; i++) {
      let s = this.hashes[i]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = i + 1;
    }
    this.slots = slots;
    const widen = (a: Uint32Array) => {
      const b = new Uint32Array(slots.length / 2);
      b.set(a);
      return b;
    };
    this.hashes = widen(this.hashes);
    this.starts = widen(this.starts);
    this.lengths = widen(this.lengths);
    this.values = widen(this.values);
  }
}
