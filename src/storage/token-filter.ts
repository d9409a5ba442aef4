/**
 * Full-text pruning: a bloom filter per Parquet file over the tokens of `body` (and configured
 * fields), so a search for a rare string skips files that cannot contain it
 * (docs/format/token-filter.md). A filter only ever says "maybe" or "definitely not".
 *
 * Entries: the maximal runs of ASCII letters and digits of a value (tokens, case-sensitive, as
 * Loki's `|=` is), and for each token its 16-character grams starting every 8 characters
 * (characters 0-15, 8-23, 16-31, … of the token). A needle (a literal substring) is checked run by
 * run: a run with a separator on both sides inside the needle is a whole token of the line; a run
 * with a separator only before it is a prefix of a token (its grams from 0); any other run of ≥ 23
 * characters contains, for one of 8 alignments, whole grams of the token it lies in. Shorter edge
 * runs are not checked.
 *
 * Built while rows are appended to a memtable (the strings are in JS then), one set of entry
 * hashes per 5-minute slice of `_timestamp`; the flush writes the slices of each file (one hour) as
 * a sidecar object `<parquet key>.bloom` before the catalog commit. A search reads only the files,
 * and within them the time slices, whose filters may match.
 */
import type { LineFilterStage } from '../logql/ast.ts';
import type { FileRow } from '../catalog/catalog.ts';
import type { ColumnBatch } from '../write/column-batch.ts';
import type { ObjectStore } from './object-store.ts';
import { HOUR_NS } from './key-layout.ts';
import { fmix32 } from '../lib/byte-key-map.ts';

export const GRAM = 16;
/** grams start every STEP characters of a token, so they overlap by GRAM − STEP */
export const STEP = 8;
/** bits per distinct entry: ~1 % false positives for a split-block filter */
const BITS_PER_ENTRY = 10;
/** the filter layout byte of the sidecar: split blocks of 8 × 32 bits */
const LAYOUT_SPLIT_BLOCK_8 = 8;
const MAGIC = 0x4654534d; // "MSTF" little-endian
const VERSION = 1;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const isTokenChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** 0 is the hash set's empty slot */
const nonZero = (h: number) => h >>> 0 || 1;

/** 1 for the UTF-16 code units that make tokens: ASCII letters and digits */
const TOKEN_CHAR = new Uint8Array(65536);
for (let c = 0; c < 128; c++) TOKEN_CHAR[c] = isTokenChar(c) ? 1 : 0;

/** Emits the aligned grams of the token `s[start, end)`. */
function emitGrams(s: string, start: number, end: number, emit: (h: number) => void): void {
  for (let p = start; p + GRAM <= end; p += STEP) {
    let g = FNV_OFFSET;
    for (let j = p; j < p + GRAM; j++) g = Math.imul(g ^ s.charCodeAt(j), FNV_PRIME);
    emit(nonZero(g));
  }
}

/**
 * Calls `emit` with the hash of every entry of `s`: its tokens shorter than GRAM, and the aligned
 * grams of the longer ones (a long token is found through its grams: `needleRequirements`).
 */
export function forEachEntry(s: string, emit: (h: number) => void): void {
  const n = s.length;
  let i = 0;
  for (;;) {
    let c = 0;
    while (i < n && TOKEN_CHAR[(c = s.charCodeAt(i))] === 0) i++;
    if (i >= n) return;
    const start = i;
    let tok = FNV_OFFSET;
    do {
      tok = Math.imul(tok ^ c, FNV_PRIME);
      i++;
    } while (i < n && TOKEN_CHAR[(c = s.charCodeAt(i))] === 1);
    // long tokens (ids) are rare: their grams are hashed in a second pass over the token
    if (i - start >= GRAM) emitGrams(s, start, i, emit);
    else emit(nonZero(tok));
  }
}

function hashOf(run: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < run.length; i++) h = Math.imul(h ^ run.charCodeAt(i), FNV_PRIME);
  return nonZero(h);
}

/**
 * What a line containing `needle` must have among its entries: each element is satisfied when
 * all the hashes of at least one of its alternatives are present. Empty: nothing can be checked.
 */
export function needleRequirements(needle: string): number[][][] {
  const out: number[][][] = [];
  let i = 0;
  while (i < needle.length) {
    if (!isTokenChar(needle.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < needle.length && isTokenChar(needle.charCodeAt(i))) i++;
    const run = needle.slice(start, i);
    const left = start > 0;
    const right = i < needle.length;
    const grams = (from: number) => {
      const hs: number[] = [];
      for (let p = from; p + GRAM <= run.length; p += STEP) hs.push(hashOf(run.slice(p, p + GRAM)));
      return hs;
    };
    if (left && right && run.length < GRAM) out.push([[hashOf(run)]]);
    else if (left) {
      // a long token is indexed by its grams only
      if (run.length >= GRAM) out.push([grams(0)]);
    } else if (run.length >= GRAM + STEP - 1) {
      // the run starts anywhere in a token: one alternative per alignment of the token's grams
      const alts: number[][] = [];
      for (let a = 0; a < STEP; a++) alts.push(grams(a));
      out.push(alts);
    }
  }
  return out;
}

const MIN_SLOTS = 16384;
const MAX_INITIAL_SLOTS = 1 << 22;

/** A growable open-addressing set of non-zero 32-bit hashes. */
export class HashSet32 {
  private slots: Uint32Array;
  /** a direct-mapped cache of recent values: frequent words skip the probe into the large table */
  private readonly recent = new Uint32Array(4096);
  size = 0;

  /** `expected`: the number of values it will likely hold (sized for it: no doubling on the way) */
  constructor(expected = 0) {
    let n = MIN_SLOTS;
    while (n < 2 * expected && n < MAX_INITIAL_SLOTS) n *= 2;
    this.slots = new Uint32Array(n);
  }

  /** `h` is taken as a uint32; 0 counts as 1 */
  add(h: number): void {
    h = nonZero(h >>> 0);
    const r = h & 4095;
    if (this.recent[r] === h) return;
    this.recent[r] = h;
    this.insert(h);
  }

  private insert(h: number): void {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    let i = fmix32(h) & mask;
    for (;;) {
      const v = this.slots[i]!;
      if (v === h) return;
      if (v === 0) {
        this.slots[i] = h;
        this.size++;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.size = 0;
    for (const v of old) if (v !== 0) this.insert(v);
  }

  forEach(f: (h: number) => void): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) f(slots[i]!);
  }

  /** bytes held */
  get bytes(): number {
    return this.slots.byteLength;
  }
}

/** Parquet's split-block salts: one bit in each of a block's 8 words */
const SALT = [0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31];

/**
 * A split-block bloom filter (as Parquet's): `m` bits in blocks of 256 (8 words); an entry picks a
 * block and sets one bit in each of its words, so it costs one cache line, not K random reads.
 */
export class Bloom {
  private readonly blocks: number;

  constructor(
    readonly m: number,
    readonly words: Uint32Array,
  ) {
    this.blocks = m / 256;
  }

  static build(hashes: HashSet32): Bloom {
    const m = Math.max(1, Math.ceil((hashes.size * BITS_PER_ENTRY) / 256)) * 256;
    const b = new Bloom(m, new Uint32Array(m / 32));
    hashes.forEach((h) => b.add(h));
    return b;
  }

  add(h: number): void {
    const base = (fmix32(h ^ 0x9e3779b9) % this.blocks) * 8;
    const x = fmix32(h);
    for (let i = 0; i < 8; i++) this.words[base + i]! |= 1 << (Math.imul(x, SALT[i]!) >>> 27);
  }

  has(h: number): boolean {
    const base = (fmix32(h ^ 0x9e3779b9) % this.blocks) * 8;
    const x = fmix32(h);
    for (let i = 0; i < 8; i++)
      if ((this.words[base + i]! & (1 << (Math.imul(x, SALT[i]!) >>> 27))) === 0) return false;
    return true;
  }
}

/** True unless the filter proves that no value it covers contains `needle`. */
export function bloomMayContain(bloom: Bloom, needle: string): boolean {
  return needleRequirements(needle).every((alts) => alts.some((hs) => hs.every((h) => bloom.has(h))));
}

// ---- the sidecar: "MSTF", version, layout, GRAM, field count; per field: name, slices; per
// slice: its time range and its filter (docs/format/token-filter.md)

/** One time slice of a file: a filter over the values of its rows with `startNs <= _timestamp < endNs`. */
export interface SliceFilter {
  startNs: bigint;
  endNs: bigint;
  bloom: Bloom;
}

/** The filters of one Parquet file, by field, slices in time order. */
export type Sidecar = Map<string, SliceFilter[]>;

export function encodeSidecar(fields: Sidecar): Uint8Array {
  const enc = new TextEncoder();
  const names = [...fields.keys()].map((n) => enc.encode(n));
  let size = 12;
  [...fields.values()].forEach((slices, i) => {
    size += 4 + names[i]!.length + 4;
    for (const sl of slices) size += 16 + 4 + sl.bloom.words.byteLength;
  });
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  out[4] = VERSION;
  out[5] = LAYOUT_SPLIT_BLOCK_8;
  out[6] = GRAM;
  out[7] = STEP;
  dv.setUint32(8, fields.size, true);
  let o = 12;
  [...fields.values()].forEach((slices, i) => {
    const name = names[i]!;
    dv.setUint32(o, name.length, true);
    out.set(name, o + 4);
    o += 4 + name.length;
    dv.setUint32(o, slices.length, true);
    o += 4;
    for (const sl of slices) {
      dv.setBigInt64(o, sl.startNs, true);
      dv.setBigInt64(o + 8, sl.endNs, true);
      dv.setUint32(o + 16, sl.bloom.m, true);
      o += 20;
      for (const w of sl.bloom.words) {
        dv.setUint32(o, w, true);
        o += 4;
      }
    }
  });
  return out;
}

/** The filters of a sidecar; null when it is not a sidecar this version can read. */
export function decodeSidecar(bytes: Uint8Array): Sidecar | null {
  if (bytes.length < 12) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (
    dv.getUint32(0, true) !== MAGIC ||
    bytes[4] !== VERSION ||
    bytes[5] !== LAYOUT_SPLIT_BLOCK_8 ||
    bytes[6] !== GRAM ||
    bytes[7] !== STEP
  )
    return null;
  const out: Sidecar = new Map();
  const count = dv.getUint32(8, true);
  let o = 12;
  const dec = new TextDecoder();
  for (let f = 0; f < count; f++) {
    if (o + 4 > bytes.length) return null;
    const nameLen = dv.getUint32(o, true);
    if (o + 8 + nameLen > bytes.length) return null;
    const name = dec.decode(bytes.subarray(o + 4, o + 4 + nameLen));
    o += 4 + nameLen;
    const n = dv.getUint32(o, true);
    o += 4;
    const slices: SliceFilter[] = [];
    for (let k = 0; k < n; k++) {
      if (o + 20 > bytes.length) return null;
      const startNs = dv.getBigInt64(o, true);
      const endNs = dv.getBigInt64(o + 8, true);
      const m = dv.getUint32(o + 16, true);
      o += 20;
      if (m % 256 !== 0 || m === 0 || o + m / 8 > bytes.length || endNs <= startNs) return null;
      const words = new Uint32Array(m / 32);
      for (let w = 0; w < words.length; w++, o += 4) words[w] = dv.getUint32(o, true);
      slices.push({ startNs, endNs, bloom: new Bloom(m, words) });
    }
    out.set(name, slices);
  }
  return o === bytes.length ? out : null;
}

/** The sidecar's object key. */
export const tokenFilterKey = (parquetKey: string) => `${parquetKey}.bloom`;

// ---- building while appending

let indexedFields: readonly string[] = ['body'];

/** Which columns of log streams get a token filter (`search.tokenFilterFields`); empty: none. */
export function configureTokenFilters(fields: readonly string[]): void {
  indexedFields = [...fields];
}

/** The columns that get token filters now. */
export const tokenFilterFields = (): readonly string[] => indexedFields;

/** the time slice of a filter: 5 minutes, so a rare term leads to a few row groups, not a file */
export const SLICE_NS = 300_000_000_000n;
const floorSlice = (ts: bigint) => ts - (((ts % SLICE_NS) + SLICE_NS) % SLICE_NS);

/** The entry hashes of one memtable, per time slice (within the hour of the file it goes to) and field. */
export class TokenFilterBuilder {
  private readonly slices = new Map<bigint, Map<string, HashSet32>>();

  /**
   * `sizes`: per field, how many entries a slice held in this stream's last filters: new sets are
   * sized for it (a busy stream's slice holds hundreds of thousands, and doubling up to that
   * rehashes every entry once more). Updated when the sidecars are built.
   */
  constructor(private readonly sizes = new Map<string, number>()) {}
  /** per field, the most entries one of this builder's slices holds */
  private readonly largest = new Map<string, number>();

  /** null when no field is configured or the batch is not logs */
  static forBatch(batch: ColumnBatch, sizes?: Map<string, number>): TokenFilterBuilder | null {
    return batch.signal === 'logs' && indexedFields.length > 0 ? new TokenFilterBuilder(sizes) : null;
  }

  /** `columnValues(name)`: the batch's values of a table column (undefined when absent). */
  add(batch: ColumnBatch, columnValues: (name: string) => readonly unknown[] | undefined): void {
    const ts = batch.fixed._timestamp as readonly (bigint | null)[] | undefined;
    if (!ts) return;
    for (const field of indexedFields) {
      const values = columnValues(field);
      if (values) this.addValues(field, ts, values, batch.rowCount);
    }
  }

  /** The first `n` values of one field with their timestamps (rows of a table or a file). */
  addValues(field: string, ts: readonly (bigint | null)[], values: readonly unknown[], n: number): void {
    let lo = -1n;
    let hi = -1n;
    let set: HashSet32 | undefined;
    const emit = (h: number) => set!.add(h);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const t = ts[i];
      if (typeof v !== 'string' || typeof t !== 'bigint') continue;
      if (t < lo || t >= hi) {
        lo = floorSlice(t);
        hi = lo + SLICE_NS;
        let byField = this.slices.get(lo);
        if (!byField) this.slices.set(lo, (byField = new Map<string, HashSet32>()));
        set = byField.get(field);
        if (!set) byField.set(field, (set = new HashSet32(this.sizes.get(field))));
      }
      forEachEntry(v, emit);
    }
  }

  /** Bytes the entry sets hold. */
  get bytes(): number {
    let n = 0;
    for (const byField of this.slices.values()) for (const set of byField.values()) n += set.bytes;
    return n;
  }

  /** The sidecar of the file holding hour `[lo, lo + 1 h)`; null when nothing was indexed there. */
  sidecar(lo: bigint): Uint8Array | null {
    const fields: Sidecar = new Map();
    const starts = [...this.slices.keys()]
      .filter((s) => s >= lo && s < lo + HOUR_NS)
      .sort((a, b) => (a < b ? -1 : 1));
    for (const start of starts) {
      for (const [f, set] of this.slices.get(start)!) {
        let list = fields.get(f);
        if (!list) fields.set(f, (list = []));
        list.push({ startNs: start, endNs: start + SLICE_NS, bloom: Bloom.build(set) });
        this.largest.set(f, Math.max(this.largest.get(f) ?? 0, set.size));
      }
    }
    for (const [f, n] of this.largest) this.sizes.set(f, n);
    return fields.size > 0 ? encodeSidecar(fields) : null;
  }
}

// ---- reading

const CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** parsed sidecars by key (immutable objects); null = none or unreadable */
const cache = new Map<string, { sidecar: Sidecar | null; bytes: number }>();
let cacheBytes = 0;
/** figures of the parsed-sidecar cache, for /metrics */
export const tokenFilterCache = {
  hits: 0,
  misses: 0,
  evictions: 0,
  get bytes() {
    return cacheBytes;
  },
};

async function sidecarOf(store: ObjectStore, key: string): Promise<Sidecar | null> {
  const k = tokenFilterKey(key);
  const hit = cache.get(k);
  if (hit) {
    tokenFilterCache.hits++;
    cache.delete(k);
    cache.set(k, hit); // most recently used last
    return hit.sidecar;
  }
  tokenFilterCache.misses++;
  let sidecar: Sidecar | null = null;
  let bytes = 64;
  try {
    const raw = await store.get(k);
    sidecar = decodeSidecar(raw);
    bytes += raw.length;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'MS_ERR_OBJECT_MISSING') throw e;
  }
  cache.set(k, { sidecar, bytes });
  cacheBytes += bytes;
  for (const [old, v] of cache) {
    if (cacheBytes <= CACHE_MAX_BYTES) break;
    cache.delete(old);
    cacheBytes -= v.bytes;
    tokenFilterCache.evictions++;
  }
  return sidecar;
}

/** A file a search must read, and the `_timestamp` ranges of it that may match (null: all of it). */
export interface PrunedFile {
  file: FileRow;
  ranges: [bigint, bigint][] | null;
}

/** At most this many ranges per file; more are read as one range from the first to the last. */
const MAX_RANGES_PER_FILE = 8;

const mayMatch = (bloom: Bloom, groups: readonly (readonly string[])[]) =>
  groups.every((alts) => alts.some((n) => bloomMayContain(bloom, n)));

/**
 * The files that may hold a row whose `field` contains every requirement — a string, or a list
 * of alternatives (any one of them, as in `|= "a" or "b"`) — each with the time slices that may
 * (adjacent slices merged). Files without a sidecar, or without a filter for `field`, are kept
 * whole. Order is preserved.
 */
export async function pruneByTokens(
  store: ObjectStore,
  files: readonly FileRow[],
  required: readonly (string | readonly string[])[],
  field = 'body',
): Promise<PrunedFile[]> {
  const groups = required.map((r) => (typeof r === 'string' ? [r] : r));
  if (groups.length === 0 || groups.some((g) => g.length === 0))
    return files.map((file) => ({ file, ranges: null }));
  const out: PrunedFile[] = [];
  for (const file of files) {
    const slices = (await sidecarOf(store, file.key))?.get(field);
    if (!slices) {
      out.push({ file, ranges: null });
      continue;
    }
    const ranges: [bigint, bigint][] = [];
    for (const sl of slices) {
      if (!mayMatch(sl.bloom, groups)) continue;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === sl.startNs) last[1] = sl.endNs;
      else ranges.push([sl.startNs, sl.endNs]);
    }
    if (ranges.length === 0) continue;
    out.push({
      file,
      ranges:
        ranges.length <= MAX_RANGES_PER_FILE ? ranges : [[ranges[0]![0], ranges[ranges.length - 1]![1]]],
    });
  }
  return out;
}

/** `pruneByTokens` without the ranges: the files that may hold a matching row. */
export async function filesMayContain(
  store: ObjectStore,
  files: readonly FileRow[],
  required: readonly (string | readonly string[])[],
  field = 'body',
): Promise<FileRow[]> {
  return (await pruneByTokens(store, files, required, field)).map((p) => p.file);
}

/** A pruner for `streamRelation`: files and time ranges that may hold rows containing `required`. */
export function tokenPruner(
  store: ObjectStore,
  required: readonly (string | readonly string[])[],
  field = 'body',
): (files: FileRow[]) => Promise<PrunedFile[]> {
  return (files) => pruneByTokens(store, files, required, field);
}

/**
 * The requirements of a pipeline's leading line filters for `filesMayContain`: each `|=` whose
 * operands are all strings (`|= "a" or "b"` → ["a", "b"]). Other filters are not used for pruning.
 */
export function lineFilterRequirements(filters: readonly LineFilterStage[]): (string | string[])[] {
  const out: (string | string[])[] = [];
  for (const f of filters) {
    if (f.op !== '|=' || f.values.some((v) => v.kind !== 'string')) continue;
    out.push(f.values.length === 1 ? f.values[0]!.value : f.values.map((v) => v.value));
  }
  return out;
}
