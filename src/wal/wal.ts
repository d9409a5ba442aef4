/**
 * The write-ahead log (DESIGN.md decision 5, RELIABILITY.md D1–D5; byte layout in
 * docs/format/wal.md).
 *
 * Invariants:
 * - Acknowledge only after fsync (fsync='batch'): an append resolves, and its `apply` runs, only
 *   after the write *and* the fdatasync of the group holding its record succeeded.
 * - Seqs are handed out in call order; records are written, applied and resolved in seq order.
 * - One group = one write call + one fdatasync. Appends that arrive while a group is in flight form
 *   the next group (group commit).
 * - A failed write, short write or fsync is fatal: onFatal runs once, every pending append rejects,
 *   no later append resolves. An fsync is never retried (fsyncgate: after a failed fsync the page
 *   cache may have dropped the dirty pages, so a retry can "succeed" over lost data).
 * - Every segment but the last is complete: it was fsynced before the next one was created, and
 *   the directory was fsynced after. Hence damage in the last segment is a torn tail (cut, warn,
 *   carry on); damage anywhere else, or a missing segment, is corruption (refuse to start unless
 *   repair is asked for). Recovery lives in replay.ts.
 */
import { join } from 'node:path';
import { crashpoint } from '../lib/crashpoint.ts';
import { MoleError } from '../lib/errors.ts';
import {
  encodeRecord,
  encodeSegmentHeader,
  MAX_RECORD_PAYLOAD_BYTES,
  recordFrameBytes,
  SEGMENT_FLAG_AFTER_GAP,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './record.ts';
import { listSegments, replaySegments, walIoError, type Segment } from './replay.ts';
import { nodeWalFs, type WalFile, type WalFs } from './wal-fs.ts';

export interface WalOptions {
  /** WAL directory (created if missing). One process per directory. */
  dir: string;
  /** batch = group commit, ack only after fsync (default). interval = ack after the write, fsync every fsyncIntervalMs. */
  fsync?: 'batch' | 'interval';
  /** 0..10: how long the first append of an idle WAL waits for company before its group is written (0 = next turn of the event loop). Default 0. */
  groupCommitWindowMs?: number;
  /** fsync period for fsync='interval'. Default 1000. */
  fsyncIntervalMs?: number;
  /** Roll to a new segment before a record would take the active one past this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Injectable file I/O for fault tests. */
  fs?: WalFs;
  /** --wal-repair: truncate at mid-WAL corruption instead of refusing to start. */
  repair?: boolean;
  /** The smallest seq the next append may get (pass lastFlushedSeq + 1), for when every segment was deleted after a flush. */
  minNextSeq?: number;
  /** Structured warning sink (pino-like). Default: one JSON line on stderr. */
  onWarn?: (msg: string, fields: Record<string, unknown>) => void;
  /** Called once per torn tail or repaired corruption; increments molesignal_wal_corruptions_total. */
  onCorruption?: () => void;
  /** Called once when a write or fsync fails. Default: message on stderr, process.exit(1). */
  onFatal?: (err: Error) => never | void;
  /** Called after each group fsync with its duration (seconds): the fsync latency metric. */
  onFsync?: (seconds: number) => void;
}

export interface ReplayResult {
  /** Records passed to apply (seq >= fromSeq). */
  records: number;
  /** Highest seq the WAL holds after replay (0 if none). */
  lastSeq: number;
  /** A torn or damaged tail of the last segment was cut. */
  tornTail: boolean;
}

export interface WalStats {
  segments: number;
  bytes: number;
  /** Appends acknowledged since open. */
  appends: number;
  /** Group fsyncs (segment-creation and directory fsyncs not counted). */
  fsyncs: number;
  /** Record bytes written since open (frames included). */
  appendedBytes: number;
}

export const WAL_DEFAULTS = {
  fsync: 'batch',
  groupCommitWindowMs: 0,
  fsyncIntervalMs: 1000,
  segmentBytes: 64 * 1024 * 1024,
} as const;

/** A group's records are concatenated in one buffer up to this size (one record may exceed it). */
const MAX_GROUP_BYTES = 16 * 1024 * 1024;

interface PendingAppend {
  seq: number;
  payload: Uint8Array;
  apply: ((seq: number) => void) | undefined;
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
}

type State = 'opened' | 'replaying' | 'ready' | 'closing' | 'closed' | 'failed';

const defaultOnWarn = (msg: string, fields: Record<string, unknown>): void => {
  process.stderr.write(`${JSON.stringify({ level: 'warn', component: 'wal', msg, ...fields })}\n`);
};

const defaultOnFatal = (err: Error): never => {
  process.stderr.write(
    `molesignal: fatal WAL error, exiting so that nothing is acknowledged after a failed write or fsync ` +
      `(the next start replays the WAL and cuts any torn tail): ${err.message}\n`,
  );
  process.exit(1);
};

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class Wal {
  private readonly dir: string;
  private readonly fs: WalFs;
  private readonly mode: 'batch' | 'interval';
  private readonly windowMs: number;
  private readonly fsyncIntervalMs: number;
  private readonly segmentBytes: number;
  private readonly repair: boolean;
  private readonly minNextSeq: number;
  private readonly onWarn: (msg: string, fields: Record<string, unknown>) => void;
  private readonly onCorruption: () => void;
  private readonly onFsync: ((seconds: number) => void) | undefined;
  private readonly onFatal: (err: Error) => never | void;

  private state: State = 'opened';
  /** Sorted by firstSeq; once ready, the last one is the active segment. */
  private segments: Segment[];
  private active: WalFile | null = null;
  private next = 1;
  private pending: PendingAppend[] = [];
  /** Serialises everything that touches the active file or the segment list. */
  private lock: Promise<void> = Promise.resolve();
  private groupInFlight = false;
  private flushQueued = false;
  /** Cancels the armed group-commit window, if any. */
  private cancelWindow: (() => void) | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  private unsynced = false;
  private failure: MoleError | null = null;
  private closing: Promise<void> | null = null;
  private groupBuf = new Uint8Array(0);
  private appends = 0;
  private fsyncs = 0;
  private appendedBytes = 0;

  private constructor(opts: WalOptions, segments: Segment[]) {
    this.dir = opts.dir;
    this.fs = opts.fs ?? nodeWalFs;
    this.mode = opts.fsync ?? WAL_DEFAULTS.fsync;
    this.windowMs = opts.groupCommitWindowMs ?? WAL_DEFAULTS.groupCommitWindowMs;
    this.fsyncIntervalMs = opts.fsyncIntervalMs ?? WAL_DEFAULTS.fsyncIntervalMs;
    this.segmentBytes = opts.segmentBytes ?? WAL_DEFAULTS.segmentBytes;
    this.repair = opts.repair ?? false;
    this.minNextSeq = opts.minNextSeq ?? 1;
    this.onWarn = opts.onWarn ?? defaultOnWarn;
    this.onCorruption = opts.onCorruption ?? (() => {});
    this.onFsync = opts.onFsync;
    this.onFatal = opts.onFatal ?? defaultOnFatal;
    this.segments = segments;
  }

  /** Creates the directory if needed and lists the segments. Call replay() next. */
  static async open(opts: WalOptions): Promise<Wal> {
    validateOptions(opts);
    return new Wal(opts, await listSegments(opts.fs ?? nodeWalFs, opts.dir));
  }

  get nextSeq(): number {
    return this.next;
  }

  /**
   * Replays every record with seq >= fromSeq, in seq order, calling `apply` synchronously with a
   * payload view that is valid only during the call (copy it to keep it). Segments whose records
   * are all below fromSeq are not read. A damaged last segment is cut where its valid prefix ends
   * (warning + onCorruption). Damage in an earlier segment, or a missing segment, throws CorruptionError, or with
   * `repair` truncates there and deletes the later segments, reporting what was discarded.
   * Records before the damage have already been applied when CorruptionError is thrown.
   */
  async replay(fromSeq: number, apply: (seq: number, payload: Uint8Array) => void): Promise<ReplayResult> {
    if (this.state !== 'opened') {
      throw new MoleError('Wal.replay must be called exactly once, after open and before append', {
        code: 'MS_ERR_WAL_STATE',
        status: 500,
        reason: 'internal',
      });
    }
    this.state = 'replaying';
    const recovered = await replaySegments(
      {
        dir: this.dir,
        fs: this.fs,
        repair: this.repair,
        onWarn: this.onWarn,
        onCorruption: this.onCorruption,
      },
      this.segments,
      fromSeq,
      apply,
    );

    const last = this.segments.at(-1);
    const nextFromDisk = last === undefined ? 1 : Math.max(recovered.lastSeq + 1, last.firstSeq);
    this.next = Math.max(nextFromDisk, recovered.floorNextSeq, this.minNextSeq);
    try {
      if (last !== undefined && last.nextSeq === this.next) {
        this.active = await this.fs.open(join(this.dir, last.name), 'write');
      } else {
        // Seqs skipped on purpose (minNextSeq, repair) are marked, so the next replay can tell
        // them from a missing segment.
        await this.createSegment(this.next, last === undefined ? 0 : SEGMENT_FLAG_AFTER_GAP);
      }
    } catch (e) {
      throw walIoError('opening the active segment', e);
    }
    this.state = 'ready';
    if (this.mode === 'interval') {
      this.intervalTimer = setInterval(() => this.requestIntervalSync(), this.fsyncIntervalMs);
      this.intervalTimer.unref();
    }
    return { records: recovered.records, lastSeq: recovered.lastSeq, tornTail: recovered.tornTail };
  }

  /**
   * Appends one record; resolves with its seq once durable (batch: after the group's fsync;
   * interval: after the write). `apply` runs synchronously, in seq order across all appends,
   * after the record is durable and before any promise of its group resolves. If it throws, the
   * error goes to onWarn and the append still resolves. Do not mutate `payload` until this settles.
   */
  append(payload: Uint8Array, apply?: (seq: number) => void): Promise<number> {
    if (this.state !== 'ready') return Promise.reject(this.notReadyError());
    if (payload.length > MAX_RECORD_PAYLOAD_BYTES) {
      return Promise.reject(
        new MoleError(
          `WAL record is ${payload.length} bytes, over the maximum ${MAX_RECORD_PAYLOAD_BYTES}; send smaller batches`,
          { code: 'MS_ERR_WAL_RECORD_TOO_LARGE', status: 413, reason: 'request_body_too_large' },
        ),
      );
    }
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ seq: this.next++, payload, apply, resolve, reject });
      this.requestFlush();
    });
  }

  /** Deletes whole segments whose every record has seq < seq (never the active segment). */
  truncateBefore(seq: number): Promise<number> {
    return this.exclusive(async () => {
      this.assertWritable();
      let deleted = 0;
      // Segment i holds seqs below segments[i + 1].firstSeq, so it is covered when that is ≤ seq.
      while (this.segments.length > 1 && this.segments[1]!.firstSeq <= seq) {
        const seg = this.segments[0]!;
        try {
          await this.fs.remove(join(this.dir, seg.name));
        } catch (e) {
          throw walIoError(`deleting segment ${seg.name}`, e);
        }
        this.segments.shift();
        deleted++;
      }
      if (deleted > 0) {
        try {
          await this.fs.syncDir(this.dir);
        } catch (e) {
          throw walIoError('directory fsync after deleting segments', e);
        }
      }
      return deleted;
    });
  }

  /** Rolls to a new segment, so truncateBefore can free the old one. A no-op when the active one is empty. */
  rotate(): Promise<void> {
    return this.exclusive(async () => {
      this.assertWritable();
      if (this.activeSegment().sizeBytes <= SEGMENT_HEADER_BYTES) return;
      try {
        await this.roll(this.writtenNext());
      } catch (e) {
        this.fail(e, []);
        throw this.failure ?? e;
      }
    });
  }

  /** Writes and fsyncs anything pending (pending appends complete first), then closes. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  stats(): WalStats {
    let bytes = 0;
    for (const s of this.segments) bytes += s.sizeBytes;
    return {
      segments: this.segments.length,
      bytes,
      appends: this.appends,
      fsyncs: this.fsyncs,
      appendedBytes: this.appendedBytes,
    };
  }

  // ---- group commit ----

  /** Makes sure a group write will run: after the window when idle, right after the in-flight group otherwise. */
  private requestFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    if (this.groupInFlight) {
      this.enqueueGroup();
      return;
    }
    const run = () => {
      this.cancelWindow = null;
      this.enqueueGroup();
    };
    if (this.windowMs === 0) {
      // setImmediate, not nextTick: lets pending I/O callbacks (more requests) join the group first.
      const immediate = setImmediate(run);
      this.cancelWindow = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(run, this.windowMs);
      this.cancelWindow = () => clearTimeout(timer);
    }
  }

  private enqueueGroup(): void {
    void this.exclusive(() => this.flushGroup()).catch((e: unknown) => this.fail(e, []));
  }

  private async flushGroup(): Promise<void> {
    this.flushQueued = false;
    if (this.pending.length === 0 || this.failure !== null) return;
    this.groupInFlight = true;
    try {
      await this.writeGroup();
    } finally {
      this.groupInFlight = false;
    }
    // Records left over by the group size cap go next, without waiting for the window again.
    if (this.pending.length > 0 && !this.flushQueued && this.failure === null) {
      this.flushQueued = true;
      this.enqueueGroup();
    }
  }

  /** Writes one group: roll if needed, one write, one fdatasync, then apply and resolve in seq order. */
  private async writeGroup(): Promise<void> {
    const first = this.pending[0]!;
    let seg = this.activeSegment();
    if (
      seg.sizeBytes > SEGMENT_HEADER_BYTES &&
      seg.sizeBytes + recordFrameBytes(first.payload.length) > this.segmentBytes
    ) {
      try {
        await this.roll(first.seq);
      } catch (e) {
        this.fail(e, []);
        return;
      }
      seg = this.activeSegment();
    }
    const room = Math.min(this.segmentBytes - seg.sizeBytes, MAX_GROUP_BYTES);
    let bytes = 0;
    let count = 0;
    for (const p of this.pending) {
      const frame = recordFrameBytes(p.payload.length);
      if (count > 0 && bytes + frame > room) break;
      bytes += frame;
      count++;
    }
    const group = this.pending.splice(0, count);
    const buf = this.takeGroupBuffer(bytes);
    let at = 0;
    for (const p of group) at = encodeRecord(buf, at, p.seq, p.payload);

    const file = this.active!;
    try {
      const written = await file.write(buf, 0, bytes, seg.sizeBytes);
      if (written !== bytes) {
        throw new Error(
          `short write: ${written} of ${bytes} bytes at offset ${seg.sizeBytes} of ${seg.name}`,
        );
      }
    } catch (e) {
      this.fail(e, group);
      return;
    }
    seg.sizeBytes += bytes;
    this.appendedBytes += bytes;
    crashpoint('wal.after-write-before-fsync');
    if (this.mode === 'batch') {
      const syncStarted = performance.now();
      try {
        await file.sync();
      } catch (e) {
        this.fail(e, group);
        return;
      }
      this.fsyncs++;
      this.onFsync?.((performance.now() - syncStarted) / 1000);
      crashpoint('wal.after-fsync-before-ack');
    } else {
      this.unsynced = true;
    }
    this.appends += group.length;
    for (const p of group) {
      if (p.apply === undefined) continue;
      try {
        p.apply(p.seq);
      } catch (e) {
        this.onWarn('WAL apply callback threw; the record is durable and stays acknowledged', {
          seq: p.seq,
          err: errorMessage(e),
        });
      }
    }
    for (const p of group) p.resolve(p.seq);
  }

  private takeGroupBuffer(bytes: number): Uint8Array {
    // Reused across groups (only one group is in flight); a single oversized record gets its own.
    if (bytes > MAX_GROUP_BYTES) return new Uint8Array(bytes);
    if (this.groupBuf.length < bytes) {
      this.groupBuf = new Uint8Array(Math.min(MAX_GROUP_BYTES, Math.max(bytes, this.groupBuf.length * 2)));
    }
    return this.groupBuf;
  }

  private requestIntervalSync(): void {
    if (!this.unsynced || this.failure !== null) return;
    void this.exclusive(async () => {
      if (!this.unsynced || this.failure !== null || this.active === null) return;
      this.unsynced = false;
      try {
        const syncStarted = performance.now();
        await this.active.sync();
        this.fsyncs++;
        this.onFsync?.((performance.now() - syncStarted) / 1000);
      } catch (e) {
        this.fail(e, []);
      }
    });
  }

  /** fsyncgate: record the failure, reject everything not yet acknowledged, call onFatal once. */
  private fail(cause: unknown, inFlight: PendingAppend[]): void {
    if (this.failure === null) {
      this.failure = new MoleError(
        `WAL write or fsync failed; no further appends are acknowledged and the process must restart: ${errorMessage(cause)}`,
        { code: 'MS_ERR_WAL_FAILED', status: 503, reason: 'unavailable', cause },
      );
    }
    const err = this.failure;
    const victims = inFlight.concat(this.pending);
    this.pending = [];
    for (const v of victims) v.reject(err);
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.clearTimers();
    try {
      this.onFatal(err);
    } catch {
      // onFatal must not throw; the failure is recorded and every append rejects regardless.
    }
  }

  // ---- segments ----

  private async createSegment(firstSeq: number, flags = 0): Promise<void> {
    const name = segmentFileName(firstSeq);
    const file = await this.fs.open(join(this.dir, name), 'create');
    try {
      const header = encodeSegmentHeader(firstSeq, flags);
      const written = await file.write(header, 0, header.length, 0);
      if (written !== header.length) throw new Error(`short write of the segment header of ${name}`);
      await file.sync();
      // The new directory entry must be durable before any record in it is acknowledged.
      await this.fs.syncDir(this.dir);
    } catch (e) {
      await file.close().catch(() => {});
      throw e;
    }
    this.segments.push({ name, firstSeq, sizeBytes: SEGMENT_HEADER_BYTES, nextSeq: firstSeq });
    this.active = file;
  }

  /** Closes the active segment (fsynced first if writes are unsynced) and starts a new one at `firstSeq`. */
  private async roll(firstSeq: number): Promise<void> {
    const old = this.active!;
    if (this.unsynced) {
      // A non-final segment must be complete on disk, or power loss would turn it into mid-WAL corruption.
      await old.sync();
      this.unsynced = false;
      this.fsyncs++;
    }
    this.active = null;
    await old.close();
    await this.createSegment(firstSeq);
  }

  private activeSegment(): Segment {
    return this.segments.at(-1)!;
  }

  /** The seq of the first record not yet written. */
  private writtenNext(): number {
    return this.pending[0]?.seq ?? this.next;
  }

  // ---- lifecycle ----

  private async closeOnce(): Promise<void> {
    if (this.state === 'opened' || this.state === 'replaying') {
      this.state = 'closed';
      return;
    }
    if (this.state === 'ready') this.state = 'closing';
    if (this.cancelWindow !== null) {
      // close() drains pending itself.
      this.cancelWindow();
      this.cancelWindow = null;
      this.flushQueued = false;
    }
    await this.exclusive(async () => {
      while (this.pending.length > 0 && this.failure === null) await this.writeGroup();
      if (this.unsynced && this.failure === null && this.active !== null) {
        try {
          await this.active.sync();
          this.unsynced = false;
          this.fsyncs++;
        } catch (e) {
          this.fail(e, []);
        }
      }
      this.clearTimers();
      const file = this.active;
      this.active = null;
      await file?.close().catch(() => {});
    });
    if (this.failure !== null) throw this.failure;
    this.state = 'closed';
  }

  private clearTimers(): void {
    this.cancelWindow?.();
    this.cancelWindow = null;
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    this.intervalTimer = null;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private assertWritable(): void {
    if (this.state !== 'ready') throw this.notReadyError();
  }

  private notReadyError(): MoleError {
    if (this.failure !== null) return this.failure;
    switch (this.state) {
      case 'opened':
      case 'replaying':
        return new MoleError('WAL is not ready: call replay() after open and before append', {
          code: 'MS_ERR_WAL_STATE',
          status: 503,
          reason: 'unavailable',
          retryable: true,
        });
      case 'closing':
      case 'closed':
        return new MoleError('WAL is closed (the server is shutting down)', {
          code: 'MS_ERR_WAL_CLOSED',
          status: 503,
          reason: 'unavailable',
          retryable: true,
        });
      case 'ready':
      case 'failed':
        return new MoleError(`WAL is in state ${this.state}`, {
          code: 'MS_ERR_WAL_STATE',
          status: 500,
          reason: 'internal',
        });
    }
  }
}

function validateOptions(opts: WalOptions): void {
  const problems: string[] = [];
  const window = opts.groupCommitWindowMs ?? WAL_DEFAULTS.groupCommitWindowMs;
  if (!Number.isFinite(window) || window < 0 || window > 10) {
    problems.push(`groupCommitWindowMs must be 0..10, got ${window}`);
  }
  const interval = opts.fsyncIntervalMs ?? WAL_DEFAULTS.fsyncIntervalMs;
  if (!Number.isFinite(interval) || interval <= 0)
    problems.push(`fsyncIntervalMs must be > 0, got ${interval}`);
  const segmentBytes = opts.segmentBytes ?? WAL_DEFAULTS.segmentBytes;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) {
    problems.push(`segmentBytes must be a positive integer, got ${segmentBytes}`);
  }
  const minNextSeq = opts.minNextSeq ?? 1;
  if (!Number.isSafeInteger(minNextSeq) || minNextSeq < 1) {
    problems.push(`minNextSeq must be a positive integer, got ${minNextSeq}`);
  }
  if (problems.length > 0) {
    throw new MoleError(`invalid WAL options: ${problems.join('; ')}`, {
      code: 'MS_ERR_CONFIG',
      status: 500,
      reason: 'config_invalid',
    });
  }
}
