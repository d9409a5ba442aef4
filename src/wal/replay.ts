/**
 * Recovery at start: read the segments in order, hand every record ≥ fromSeq to the caller, and
 * decide what to do with damage (docs/format/wal.md, "Replay").
 *
 * Invariant it relies on: every segment but the last was fsynced before the next one was created
 * (wal.ts), so damage in the last segment is a torn tail (cut, warn, carry on), and damage or a
 * missing segment anywhere else is corruption: refuse to start, or with --wal-repair truncate
 * there and report how much was discarded. Nothing is ever skipped silently.
 */
import { join } from 'node:path';
import { CorruptionError, MoleError } from '../lib/errors.ts';
import { parseSegmentFileName, SEGMENT_HEADER_BYTES } from './record.ts';
import { SegmentReader, type SegmentScan } from './segment-reader.ts';
import type { WalFile, WalFs } from './wal-fs.ts';

export interface Segment {
  name: string;
  firstSeq: number;
  sizeBytes: number;
  /** The seq its next record would carry; null when unknown (not read during replay). */
  nextSeq: number | null;
}

export interface RecoveryContext {
  dir: string;
  fs: WalFs;
  repair: boolean;
  onWarn: (msg: string, fields: Record<string, unknown>) => void;
  onCorruption: () => void;
}

export interface Recovery {
  /** Records passed to apply. */
  records: number;
  /** Highest seq the WAL accounts for after recovery (0 if none). */
  lastSeq: number;
  tornTail: boolean;
  /** The lowest seq that may be handed out next: seqs seen in discarded segments are never reused. */
  floorNextSeq: number;
}

type Problem = NonNullable<SegmentScan['problem']>;

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export const walIoError = (what: string, cause: unknown) =>
  new MoleError(`WAL ${what} failed: ${errorMessage(cause)}`, {
    code: 'MS_ERR_WAL_IO',
    status: 500,
    reason: 'internal',
    cause,
  });

/** The segments in `dir`, sorted by first seq. Other files are ignored. */
export async function listSegments(fs: WalFs, dir: string): Promise<Segment[]> {
  let names: string[];
  try {
    await fs.mkdirp(dir);
    names = await fs.list(dir);
  } catch (e) {
    throw walIoError(`open of ${dir}`, e);
  }
  const segments: Segment[] = [];
  for (const name of names) {
    const firstSeq = parseSegmentFileName(name);
    if (firstSeq !== null) segments.push({ name, firstSeq, sizeBytes: 0, nextSeq: null });
  }
  return segments.sort((a, b) => a.firstSeq - b.firstSeq);
}

/**
 * Replays `segments` (updated in place: sizes, next seqs, cut or deleted segments) calling `apply`
 * for every record with seq ≥ fromSeq. Segments whose records are all below fromSeq are not read.
 * Records before a CorruptionError have already been applied when it is thrown.
 */
export async function replaySegments(
  ctx: RecoveryContext,
  segments: Segment[],
  fromSeq: number,
  apply: (seq: number, payload: Uint8Array) => void,
): Promise<Recovery> {
  const reader = new SegmentReader();
  const out: Recovery = { records: 0, lastSeq: 0, tornTail: false, floorNextSeq: 1 };
  const onRecord = (seq: number, payload: Uint8Array) => {
    if (seq >= fromSeq) {
      apply(seq, payload);
      out.records++;
    }
  };

  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const previous = segments[i - 1];
    const following = segments[i + 1];
    const lastSeqBefore = out.lastSeq;
    // A segment named F exists only once seqs below F were handed out.
    out.lastSeq = Math.max(out.lastSeq, seg.firstSeq - 1);
    if (following !== undefined && following.firstSeq <= fromSeq) {
      seg.sizeBytes = await withSegmentFile(ctx, seg, (f) => f.sizeBytes());
      continue;
    }
    const scan = await withSegmentFile(ctx, seg, (f) =>
      reader.scan(f, seg.firstSeq, previous?.nextSeq ?? null, onRecord),
    );
    seg.sizeBytes = scan.fileBytes;
    if (scan.lastSeq !== null) out.lastSeq = scan.lastSeq;
    seg.nextSeq = scan.lastSeq === null ? seg.firstSeq : scan.lastSeq + 1;
    const problem = scan.problem;
    if (problem === null) continue;

    const path = join(ctx.dir, seg.name);
    if (problem.kind === 'damage' && following === undefined) {
      out.tornTail = true;
      ctx.onWarn('WAL torn tail cut: the last segment ends in a partial or damaged record', {
        code: 'MS_ERR_CORRUPTION',
        segment: path,
        offset: problem.offset,
        reason: problem.reason,
        bytesDiscarded: scan.fileBytes - problem.offset,
      });
      ctx.onCorruption();
      await cutSegment(ctx, segments, i, problem.offset);
      continue;
    }
    if (problem.kind === 'discontinuity') out.lastSeq = lastSeqBefore;
    if (!ctx.repair) {
      const what =
        problem.kind === 'damage' ? 'is damaged before its end' : 'does not follow the one before it';
      throw new CorruptionError(
        `WAL segment ${what} (${problem.reason}), with ${segments.length - i - 1} later segment(s), ` +
          'so MoleSignal refuses to start rather than skip acknowledged records silently. ' +
          'Restart with --wal-repair to truncate the WAL at this point (the records after it are discarded and ' +
          'the count is logged), or restore the WAL directory from a backup',
        path,
        problem.offset,
      );
    }
    out.floorNextSeq = await repairAt(ctx, segments, i, problem, scan.fileBytes, reader);
    break;
  }
  return out;
}

/** Cuts segment i at `offset`, or deletes it if not even its header survives. */
async function cutSegment(
  ctx: RecoveryContext,
  segments: Segment[],
  i: number,
  offset: number,
): Promise<void> {
  const seg = segments[i]!;
  const path = join(ctx.dir, seg.name);
  try {
    if (offset < SEGMENT_HEADER_BYTES) {
      await ctx.fs.remove(path);
      await ctx.fs.syncDir(ctx.dir);
      segments.splice(i, 1);
      return;
    }
    const file = await ctx.fs.open(path, 'write');
    try {
      await file.truncate(offset);
      await file.sync();
    } finally {
      await file.close();
    }
    seg.sizeBytes = offset;
  } catch (e) {
    throw walIoError(`cutting ${path} at offset ${offset}`, e);
  }
}

/**
 * --wal-repair: segment i has `problem`. Deletes the later segments (last first), then cuts
 * segment i at the damage, or deletes it too when its header is bad or it is out of sequence, and
 * reports what was discarded. Deleting first means a crash mid-repair leaves segment i last, where
 * the next start treats it as a torn tail. Returns the lowest seq that may be handed out again.
 */
async function repairAt(
  ctx: RecoveryContext,
  segments: Segment[],
  i: number,
  problem: Problem,
  fileBytes: number,
  reader: SegmentReader,
): Promise<number> {
  const seg = segments[i]!;
  const keepPrefix = problem.kind === 'damage' && problem.offset >= SEGMENT_HEADER_BYTES;
  const from = keepPrefix ? i + 1 : i;
  // Records past damage cannot be parsed; with consecutive seqs they are the gap up to the next
  // segment's first seq.
  const unreadable = (next: number, j: number) => Math.max(0, (segments[j + 1]?.firstSeq ?? next) - next);
  let recordsDiscarded = 0;
  let bytesDiscarded = 0;
  let floor = 1;
  if (keepPrefix) {
    const next = seg.nextSeq ?? seg.firstSeq;
    recordsDiscarded += unreadable(next, i);
    bytesDiscarded += fileBytes - problem.offset;
    floor = next;
  }
  for (let j = from; j < segments.length; j++) {
    const s = segments[j]!;
    const count = await withSegmentFile(ctx, s, (f) => reader.scan(f, s.firstSeq, null, () => {}));
    const next = count.lastSeq === null ? s.firstSeq : count.lastSeq + 1;
    recordsDiscarded += count.records + (count.problem === null ? 0 : unreadable(next, j));
    bytesDiscarded += count.fileBytes;
    floor = Math.max(floor, next);
  }
  const doomed = segments.slice(from);
  for (const s of [...doomed].reverse()) {
    try {
      await ctx.fs.remove(join(ctx.dir, s.name));
    } catch (e) {
      throw walIoError(`deleting segment ${s.name} during repair`, e);
    }
  }
  segments.splice(from);
  if (keepPrefix) await cutSegment(ctx, segments, i, problem.offset);
  try {
    await ctx.fs.syncDir(ctx.dir);
  } catch (e) {
    throw walIoError('directory fsync during repair', e);
  }
  ctx.onWarn('WAL repaired (--wal-repair): truncated at mid-WAL corruption; records after it are discarded', {
    code: 'MS_ERR_CORRUPTION',
    segment: join(ctx.dir, seg.name),
    offset: problem.offset,
    reason: problem.reason,
    recordsDiscarded,
    bytesDiscarded,
    segmentsDeleted: doomed.length,
  });
  ctx.onCorruption();
  return floor;
}

async function withSegmentFile<T>(
  ctx: RecoveryContext,
  seg: Segment,
  fn: (f: WalFile) => Promise<T>,
): Promise<T> {
  const path = join(ctx.dir, seg.name);
  let file: WalFile;
  try {
    file = await ctx.fs.open(path, 'read');
  } catch (e) {
    throw walIoError(`opening ${path}`, e);
  }
  try {
    return await fn(file);
  } catch (e) {
    throw e instanceof MoleError ? e : walIoError(`reading ${path}`, e);
  } finally {
    await file.close().catch(() => {});
  }
}
