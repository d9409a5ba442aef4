/**
 * Streams through one WAL segment and reports every valid record and where (and why) the valid
 * prefix ends. Memory is bounded: one read buffer (1 MiB by default) reused across segments, grown
 * only to fit a single record whose length field has already been checked against the bytes left in
 * the file and against MAX_RECORD_PAYLOAD_BYTES. Never reads a whole segment into memory.
 */
import { MoleError } from '../lib/errors.ts';
import {
  decodeRecord,
  decodeSegmentHeader,
  SEGMENT_FLAG_AFTER_GAP,
  SEGMENT_HEADER_BYTES,
  WAL_FORMAT_VERSION,
} from './record.ts';
import type { WalFile } from './wal-fs.ts';

export const DEFAULT_READ_BUFFER_BYTES = 1024 * 1024;

export interface SegmentScan {
  fileBytes: number;
  /** Valid records in the segment. */
  records: number;
  /** Seq of the last valid record, or null if there is none. */
  lastSeq: number | null;
  /** Offset just past the last valid record: where the segment should be cut if `problem` is set. */
  validBytes: number;
  /**
   * Set when the segment does not end cleanly after its last valid record. `damage`: a bad
   * header or frame (a torn tail if this is the last segment). `discontinuity`: the header is
   * fine but the segment does not follow the previous one (a segment is missing or out of place);
   * reported before any record of the segment is passed on, and never a torn tail.
   */
  problem: { kind: 'damage' | 'discontinuity'; offset: number; reason: string } | null;
}

export class SegmentReader {
  private buf: Uint8Array;

  constructor(private readonly readBufferBytes = DEFAULT_READ_BUFFER_BYTES) {
    this.buf = new Uint8Array(0);
  }

  /**
   * Calls `onRecord` for every valid record, in order, with a payload view that is only valid
   * during the call. Records must carry consecutive seqs starting at `firstSeq` (the file name),
   * which must equal `previousNextSeq` (the seq after the previous segment's last record; null if
   * unknown) unless the header carries SEGMENT_FLAG_AFTER_GAP and the gap goes forward.
   * Throws MoleError only for an unsupported format version (not repairable) or an I/O error.
   */
  async scan(
    file: WalFile,
    firstSeq: number,
    previousNextSeq: number | null,
    onRecord: (seq: number, payload: Uint8Array) => void,
  ): Promise<SegmentScan> {
    const fileBytes = await file.sizeBytes();
    this.reserve(Math.min(fileBytes, this.readBufferBytes));
    let bufStart = 0; // file offset of buf[0]
    let have = await this.fill(file, 0, 0, fileBytes);
    const result: SegmentScan = { fileBytes, records: 0, lastSeq: null, validBytes: 0, problem: null };

    const header = decodeSegmentHeader(this.buf, have);
    switch (header.kind) {
      case 'ok':
        if (header.firstSeq !== firstSeq) {
          result.problem = {
            kind: 'damage',
            offset: 0,
            reason: `header says first seq ${header.firstSeq}, file name says ${firstSeq}`,
          };
          return result;
        }
        if (
          previousNextSeq !== null &&
          firstSeq !== previousNextSeq &&
          !(firstSeq > previousNextSeq && (header.flags & SEGMENT_FLAG_AFTER_GAP) !== 0)
        ) {
          result.problem = {
            kind: 'discontinuity',
            offset: 0,
            reason:
              `segment starts at seq ${firstSeq} but the previous segment ends before seq ${previousNextSeq}: ` +
              'a segment is missing or out of place',
          };
          return result;
        }
        break;
      case 'unsupported-version':
        throw new MoleError(
          `WAL segment ${file.path} has format version ${header.version} (flags ${header.flags}); ` +
            `this build reads version ${WAL_FORMAT_VERSION}. ` +
            'Run the MoleSignal version that wrote it, or move the WAL directory aside',
          { code: 'MS_ERR_WAL_VERSION', status: 500, reason: 'internal' },
        );
      case 'short':
        result.problem = {
          kind: 'damage',
          offset: 0,
          reason: `segment header is incomplete (${fileBytes} bytes)`,
        };
        return result;
      case 'bad-magic':
      case 'bad-crc':
      case 'bad-seq':
        result.problem = { kind: 'damage', offset: 0, reason: `segment header is damaged (${header.kind})` };
        return result;
    }

    let pos = SEGMENT_HEADER_BYTES;
    let expected = firstSeq;
    result.validBytes = pos;
    while (pos < fileBytes) {
      const r = decodeRecord(this.buf, pos - bufStart, have);
      if (r.kind === 'record') {
        if (r.seq !== expected) {
          result.problem = {
            kind: 'damage',
            offset: pos,
            reason: `record has seq ${r.seq} where ${expected} was expected`,
          };
          return result;
        }
        onRecord(r.seq, r.payload);
        result.records++;
        result.lastSeq = r.seq;
        expected++;
        pos = bufStart + r.end;
        result.validBytes = pos;
        continue;
      }
      if (r.kind === 'corrupt') {
        result.problem = { kind: 'damage', offset: pos, reason: r.reason };
        return result;
      }
      // Incomplete in the buffer: is the rest of the frame in the file at all?
      if (pos + r.frameBytes > fileBytes) {
        result.problem = {
          kind: 'damage',
          offset: pos,
          reason: `record needs ${r.frameBytes} bytes but only ${fileBytes - pos} remain (torn write)`,
        };
        return result;
      }
      // Move the partial frame to the front, grow if one frame is bigger than the buffer, refill.
      const keep = have - (pos - bufStart);
      this.buf.copyWithin(0, pos - bufStart, have);
      bufStart = pos;
      if (r.frameBytes > this.buf.length) this.reserve(r.frameBytes, keep);
      have = await this.fill(file, keep, bufStart + keep, fileBytes);
      if (have < r.frameBytes) {
        // The file shrank under us: report it as a tear at this record.
        result.problem = { kind: 'damage', offset: pos, reason: 'file ended while reading a record' };
        return result;
      }
    }
    return result;
  }

  /** Ensures capacity ≥ bytes, keeping the first `keep` bytes. */
  private reserve(bytes: number, keep = 0): void {
    if (this.buf.length >= bytes) return;
    const next = new Uint8Array(Math.max(bytes, SEGMENT_HEADER_BYTES));
    next.set(this.buf.subarray(0, keep));
    this.buf = next;
  }

  /** Reads from `filePos` into buf[from..] until the buffer or the file is full; returns valid bytes in buf. */
  private async fill(file: WalFile, from: number, filePos: number, fileBytes: number): Promise<number> {
    let have = from;
    let at = filePos;
    while (have < this.buf.length && at < fileBytes) {
      const n = await file.read(this.buf, have, Math.min(this.buf.length - have, fileBytes - at), at);
      if (n === 0) break;
      have += n;
      at += n;
    }
    return have;
  }
}
