/**
 * WAL byte format v1 (docs/format/wal.md): a 24-byte segment header
 *
 *   ["MSWL"][u32 version][u64 first seq][u32 flags][u32 crc32c(bytes 0..20)]
 *
 * then records framed as
 *
 *   [u32 payload length][u32 crc32c(seq ++ payload)][u64 seq][payload]      (little-endian)
 *
 * Pure functions, no I/O. Invariant: the decoder never reads outside `[offset, end)` of the buffer
 * it is given and never trusts a length before checking it against the bytes available and
 * MAX_RECORD_PAYLOAD_BYTES, so a damaged frame is reported as `corrupt` or `incomplete`, never as
 * an exception or an oversized allocation.
 */
import { crc32c } from '../lib/crc32c.ts';

export const WAL_FORMAT_VERSION = 1;
/** "MSWL" */
export const SEGMENT_MAGIC = Uint8Array.of(0x4d, 0x53, 0x57, 0x4c);
export const SEGMENT_HEADER_BYTES = 24;
/** The header bytes its CRC covers. */
const SEGMENT_HEADER_CRC_AT = 20;
/**
 * Header flag: seqs between the previous segment's last record and this segment's first seq were
 * skipped on purpose (minNextSeq above the disk, or seqs discarded by --wal-repair). Without it, a
 * seq gap between two segments means a segment is missing, which replay refuses.
 */
export const SEGMENT_FLAG_AFTER_GAP = 1;
const KNOWN_SEGMENT_FLAGS = SEGMENT_FLAG_AFTER_GAP;
export const RECORD_HEADER_BYTES = 16;
/** Larger payloads are refused by append, and a larger length field is corruption on replay. */
export const MAX_RECORD_PAYLOAD_BYTES = 128 * 1024 * 1024;

const TWO_POW_32 = 0x1_0000_0000;
/** The high word of a u64 seq above this would exceed Number.MAX_SAFE_INTEGER (2^53 − 1). */
const MAX_SEQ_HIGH_WORD = 0x1f_ffff;
const SEGMENT_NAME_RE = /^(\d{20})\.wal$/;

/** `00000000000000000042.wal`: the zero-padded first seq the segment holds. */
export function segmentFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}.wal`;
}

/** The first seq encoded in a segment file name, or null for any other file name. */
export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_NAME_RE.exec(name);
  if (!m) return null;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) && seq >= 1 ? seq : null;
}

export function recordFrameBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + payloadBytes;
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff;
  buf[at + 1] = (v >>> 8) & 0xff;
  buf[at + 2] = (v >>> 16) & 0xff;
  buf[at + 3] = (v >>> 24) & 0xff;
}

function readU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

function writeU64(buf: Uint8Array, at: number, v: number): void {
  writeU32(buf, at, v % TWO_POW_32);
  writeU32(buf, at + 4, Math.floor(v / TWO_POW_32));
}

export function encodeSegmentHeader(firstSeq: number, flags = 0): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  out.set(SEGMENT_MAGIC, 0);
  writeU32(out, 4, WAL_FORMAT_VERSION);
  writeU64(out, 8, firstSeq);
  writeU32(out, 16, flags);
  writeU32(out, SEGMENT_HEADER_CRC_AT, crc32c(out, 0, 0, SEGMENT_HEADER_CRC_AT));
  return out;
}

export type SegmentHeader =
  | { kind: 'ok'; firstSeq: number; flags: number }
  | { kind: 'short' }
  | { kind: 'bad-magic' }
  | { kind: 'bad-crc' }
  | { kind: 'bad-seq' }
  | { kind: 'unsupported-version'; version: number; flags: number };

/**
 * Decodes the header at the start of `buf[0, end)`. The CRC is checked before the version, so a
 * damaged header is `bad-crc` (corruption) and only an intact header from another format version
 * (or with flags this version does not know) is `unsupported-version`. Every version keeps this
 * 24-byte layout.
 */
export function decodeSegmentHeader(buf: Uint8Array, end = buf.length): SegmentHeader {
  if (end < SEGMENT_HEADER_BYTES || buf.length < SEGMENT_HEADER_BYTES) return { kind: 'short' };
  for (let i = 0; i < SEGMENT_MAGIC.length; i++)
    if (buf[i] !== SEGMENT_MAGIC[i]) return { kind: 'bad-magic' };
  if (readU32(buf, SEGMENT_HEADER_CRC_AT) !== crc32c(buf, 0, 0, SEGMENT_HEADER_CRC_AT))
    return { kind: 'bad-crc' };
  const version = readU32(buf, 4);
  const flags = readU32(buf, 16);
  if (version !== WAL_FORMAT_VERSION || (flags & ~KNOWN_SEGMENT_FLAGS) !== 0) {
    return { kind: 'unsupported-version', version, flags };
  }
  const high = readU32(buf, 12);
  if (high > MAX_SEQ_HIGH_WORD) return { kind: 'bad-seq' };
  const firstSeq = high * TWO_POW_32 + readU32(buf, 8);
  return firstSeq >= 1 ? { kind: 'ok', firstSeq, flags } : { kind: 'bad-seq' };
}

/**
 * Writes one framed record into `target` at `offset` and returns the offset just past it. The
 * caller sizes `target` with recordFrameBytes; `seq` is a safe integer ≥ 1.
 */
export function encodeRecord(target: Uint8Array, offset: number, seq: number, payload: Uint8Array): number {
  const payloadAt = offset + RECORD_HEADER_BYTES;
  writeU32(target, offset, payload.length);
  writeU64(target, offset + 8, seq);
  target.set(payload, payloadAt);
  const end = payloadAt + payload.length;
  writeU32(target, offset + 4, crc32c(target, 0, offset + 8, end));
  return end;
}

export type DecodedRecord =
  /** `payload` is a view into the input buffer; `end` is the offset just past the frame. */
  | { kind: 'record'; seq: number; payload: Uint8Array; end: number }
  /** The buffer ends inside the frame; `frameBytes` more bytes from `offset` are needed (the whole
   * frame when its header is complete, else just the header). */
  | { kind: 'incomplete'; frameBytes: number }
  | { kind: 'corrupt'; reason: string };

/** Decodes the frame starting at `offset`, looking at no byte at or past `end`. */
export function decodeRecord(buf: Uint8Array, offset: number, end = buf.length): DecodedRecord {
  const limit = Math.min(end, buf.length);
  if (limit - offset < RECORD_HEADER_BYTES) return { kind: 'incomplete', frameBytes: RECORD_HEADER_BYTES };
  const length = readU32(buf, offset);
  if (length > MAX_RECORD_PAYLOAD_BYTES) {
    return {
      kind: 'corrupt',
      reason: `record length ${length} is over the maximum ${MAX_RECORD_PAYLOAD_BYTES}`,
    };
  }
  const frameBytes = RECORD_HEADER_BYTES + length;
  if (limit - offset < frameBytes) return { kind: 'incomplete', frameBytes };
  const stored = readU32(buf, offset + 4);
  const actual = crc32c(buf, 0, offset + 8, offset + frameBytes);
  if (stored !== actual) {
    return { kind: 'corrupt', reason: `CRC mismatch: stored ${hex32(stored)}, computed ${hex32(actual)}` };
  }
  const high = readU32(buf, offset + 12);
  if (high > MAX_SEQ_HIGH_WORD) return { kind: 'corrupt', reason: 'seq is beyond 2^53' };
  const seq = high * TWO_POW_32 + readU32(buf, offset + 8);
  const payloadAt = offset + RECORD_HEADER_BYTES;
  return {
    kind: 'record',
    seq,
    payload: buf.subarray(payloadAt, payloadAt + length),
    end: offset + frameBytes,
  };
}

const hex32 = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/** A whole segment as bytes: header plus records with consecutive seqs from `firstSeq`. For tests and tools. */
export function encodeSegment(firstSeq: number, payloads: readonly Uint8Array[]): Uint8Array {
  let size = SEGMENT_HEADER_BYTES;
  for (const p of payloads) size += recordFrameBytes(p.length);
  const out = new Uint8Array(size);
  out.set(encodeSegmentHeader(firstSeq), 0);
  let at = SEGMENT_HEADER_BYTES;
  payloads.forEach((p, i) => {
    at = encodeRecord(out, at, firstSeq + i, p);
  });
  return out;
}

export interface DecodedSegment {
  header: SegmentHeader;
  records: { seq: number; payload: Uint8Array }[];
  /** Offset just past the last good record (0 when the header is bad). */
  validBytes: number;
  /** Where and why decoding stopped before the end of the bytes; null when every byte was consumed. */
  problem: { offset: number; reason: string } | null;
}

/**
 * Decodes a whole in-memory segment with the same rules replay applies (consecutive seqs from the
 * header's first seq). For tests, fixtures and tools; replay streams instead (segment-reader.ts).
 */
export function decodeSegment(bytes: Uint8Array): DecodedSegment {
  const header = decodeSegmentHeader(bytes);
  if (header.kind !== 'ok') {
    return {
      header,
      records: [],
      validBytes: 0,
      problem: { offset: 0, reason: `segment header: ${header.kind}` },
    };
  }
  const records: DecodedSegment['records'] = [];
  let at = SEGMENT_HEADER_BYTES;
  let expected = header.firstSeq;
  while (at < bytes.length) {
    const r = decodeRecord(bytes, at);
    if (r.kind !== 'record') {
      const reason = r.kind === 'corrupt' ? r.reason : 'truncated record';
      return { header, records, validBytes: at, problem: { offset: at, reason } };
    }
    if (r.seq !== expected) {
      return {
        header,
        records,
        validBytes: at,
        problem: { offset: at, reason: `seq ${r.seq}, expected ${expected}` },
      };
    }
    records.push({ seq: r.seq, payload: r.payload });
    expected++;
    at = r.end;
  }
  return { header, records, validBytes: at, problem: null };
}
