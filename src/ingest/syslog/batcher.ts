/**
 * Groups the framed messages of one syslog listener into batches and writes each batch as ONE
 * `syslog` payload on the write path (up to `maxBatchMessages` / `maxBatchBytes`, or what arrived
 * within `batchWindowMs`).
 *
 * Invariants:
 * - One write at a time per listener, in arrival order; messages arriving meanwhile form the next
 *   batch.
 * - Backpressure, never silent growth: when the write path refuses for now (429, or a retryable
 *   503), the batch is kept and retried with backoff; while a write is held up and the next batch
 *   is over `maxPendingBytes`, `isOverloaded` is true: stream listeners pause their sockets
 *   (`waitForRoom`) and the UDP listener drops datagrams and counts them.
 * - `drain` writes everything framed so far (graceful shutdown), retrying until its deadline.
 */
import { isMoleError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import type { WritePath } from '../../write/write-path.ts';
import { SyslogBodyWriter } from './batch-body.ts';
import { decodeSyslog } from './decode.ts';
import type { SyslogMetrics } from './metrics.ts';

export interface SyslogBatcherOptions {
  transport: 'udp' | 'tcp' | 'tls';
  orgName: string;
  stream: string;
  resolveOrg: (name: string) => Promise<OrgId | null>;
  writePath: Pick<WritePath, 'write'>;
  metrics: SyslogMetrics;
  log: Logger;
  maxBatchMessages: number;
  maxBatchBytes: number;
  maxPendingBytes: number;
  batchWindowMs: number;
}

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1000;
const WARN_EVERY_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SyslogBatcher {
  private readonly writer = new SyslogBodyWriter();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private heldUp = false;
  private readonly waiting = new Set<() => void>();
  private deadlineMs = Infinity;
  private lastWarnMs = 0;

  constructor(private readonly o: SyslogBatcherOptions) {}

  /** True while messages should not be accepted: stream sockets pause, UDP drops. */
  get isOverloaded(): boolean {
    return this.writer.bytes >= this.o.maxPendingBytes || (this.heldUp && this.writer.bytes > 0);
  }

  add(msg: Uint8Array, receivedAtMs: number, peer: string): void {
    this.writer.add(msg, receivedAtMs, peer);
    this.o.metrics.received.inc({ transport: this.o.transport });
    if (this.writer.count >= this.o.maxBatchMessages || this.writer.bytes >= this.o.maxBatchBytes) {
      this.flushSoon(0);
    } else {
      this.flushSoon(this.o.batchWindowMs);
    }
  }

  /** Calls `resume` once the batcher has room again (a paused socket resumes reading). */
  waitForRoom(resume: () => void): void {
    this.waiting.add(resume);
  }

  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }

  private flushSoon(delayMs: number): void {
    if (this.writing) return; // the running write starts the next batch when it ends
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.startWrite();
    }, delayMs);
  }

  private startWrite(): void {
    if (this.writing || this.writer.count === 0) return;
    const count = this.writer.count;
    const body = this.writer.take();
    this.writing = this.writeBatch(body, count).finally(() => {
      this.writing = null;
      this.heldUp = false;
      if (this.writer.count > 0) this.flushSoon(this.isOverloaded ? 0 : this.o.batchWindowMs);
      if (!this.isOverloaded) this.wakeWaiting();
    });
  }

  private wakeWaiting(): void {
    const all = [...this.waiting];
    this.waiting.clear();
    for (const resume of all) resume();
  }

  private dropped(reason: string, count: number): void {
    this.o.metrics.dropped.inc({ transport: this.o.transport, reason }, count);
  }

  private warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarnMs < WARN_EVERY_MS) return;
    this.lastWarnMs = now;
    this.o.log.warn({ transport: this.o.transport, ...fields }, msg);
  }

  private async writeBatch(body: Buffer, count: number): Promise<void> {
    const org = await this.o.resolveOrg(this.o.orgName);
    if (org === null) {
      this.dropped('unknown_org', count);
      this.warn(
        { org: this.o.orgName },
        'syslog messages dropped: the org of this listener does not exist; create it or fix the syslog config',
      );
      return;
    }
    const receivedAtMs = Date.now();
    const payload: IngestPayload = {
      org,
      signal: 'logs',
      stream: this.o.stream,
      format: 'syslog',
      idempotencyKey: '',
      receivedAtMs,
      nowNs: BigInt(receivedAtMs) * 1_000_000n,
      body,
      params: {
        transport: this.o.transport,
        utcOffsetMin: String(-new Date(receivedAtMs).getTimezoneOffset()),
      },
    };
    const batch = decodeSyslog(payload);
    if (batch.rejectedCount > 0) {
      this.dropped('invalid', batch.rejectedCount);
      this.warn({ refused: batch.rejectedCount, reason: batch.rejectedMessage }, 'syslog messages refused');
    }
    if (batch.rowCount === 0) return;
    let backoffMs = RETRY_FIRST_MS;
    for (;;) {
      try {
        await this.o.writePath.write(payload, batch);
        return;
      } catch (e) {
        const canRetry =
          isMoleError(e) &&
          (e.status === 429 || (e.status === 503 && e.retryable)) &&
          Date.now() < this.deadlineMs;
        if (!canRetry) {
          this.dropped('write_failed', batch.rowCount);
          this.o.log.error({ err: e, transport: this.o.transport }, 'syslog batch could not be written');
          return;
        }
        this.heldUp = true;
        this.warn(
          { err: e },
          'syslog: the write path refuses for now; holding the batch and pausing TCP reads',
        );
        await sleep(Math.min(backoffMs, Math.max(0, this.deadlineMs - Date.now())));
        backoffMs = Math.min(backoffMs * 2, RETRY_MAX_MS);
      }
    }
  }

  /** Writes everything framed so far; gives up retrying at `deadlineMs`. */
  async drain(deadlineMs: number): Promise<void> {
    this.deadlineMs = deadlineMs;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.writing || this.writer.count > 0) {
      if (this.writing) await this.writing;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      this.startWrite();
    }
    this.wakeWaiting();
  }
}
