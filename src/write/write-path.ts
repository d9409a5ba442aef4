/**
 * The write path: every protocol ends here (DESIGN.md "The data path").
 * Invariant: log before apply, acknowledge after log. A request is acknowledged only after its
 * WAL record is durable; its rows are applied to the memtable in WAL seq order inside the WAL's
 * durable callback, so they are queryable at the moment of the acknowledgement.
 * A retried request with a known Idempotency-Key (per org, `ingest.idempotencyTtlMs`) is
 * acknowledged again and not stored twice — across restarts too (keys live in the WAL and, after
 * a flush, in the catalog).
 */
import type { Catalog } from '../catalog/catalog.ts';
import { MoleError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ServerMetrics } from '../lib/metrics.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { ColumnBatch } from './column-batch.ts';
import type { StreamRegistry, StreamState } from './streams.ts';
import { decodePayload, encodePayload, type IngestPayload } from './wal-payload.ts';

export interface IngestResult {
  accepted: number;
  rejected: number;
  rejectedMessage: string;
}

/** The WAL as the write path uses it (src/wal/wal.ts). */
export interface WriteAheadLog {
  append(payload: Uint8Array, apply?: (seq: number) => void): Promise<number>;
  replay(
    fromSeq: number,
    apply: (seq: number, payload: Uint8Array) => void,
  ): Promise<{ records: number; lastSeq: number; tornTail: boolean }>;
}

/** What the write path asks the flusher when it refuses a request (src/memtable/flush.ts). */
export interface FlushBacklog {
  /** Seconds the flushes need to write `heldBytes` at their measured rate (the Retry-After). */
  drainSeconds(heldBytes: number): number;
  /** A request was refused: flush now rather than at the next policy check. */
  onRefused(): void;
}

export type BatchDecoder = (p: IngestPayload) => ColumnBatch;

/**
 * What a request adds to the memtables' byte count: its decoded size (a remote-write body stays
 * snappy-compressed in the WAL; at replay, where the decoded size is not stored, the body size).
 */
const heldBytesOf = (p: IngestPayload) => p.decodedBytes ?? p.body.length;

/** A key is scoped to its org and signal: the same key on a logs and a traces request are two keys. */
const scopedKey = (p: IngestPayload) => `${p.signal}/${p.idempotencyKey}`;
const idemId = (org: OrgId, key: string) => `${org}\u0000${key}`;

/** Sees the rows of every write once they are in the memtable (not WAL replay): live tail. */
export type AppendListener = (org: OrgId, signal: ColumnBatch['signal'], batch: ColumnBatch) => void;

/**
 * Sees each live write inside the WAL's durable callback, right after its rows are applied: in WAL
 * seq order, with its seq (span metrics). Not called at replay.
 */
export type ApplyListener = (p: IngestPayload, batch: ColumnBatch, seq: number) => void;
/** Sees every record WAL replay reads, in seq order, already flushed or not, before it is applied. */
export type ReplayListener = (seq: number, p: IngestPayload) => void;

export class WritePath {
  private readonly appendListeners: AppendListener[] = [];
  private readonly applyListeners: ApplyListener[] = [];
  private readonly replayListeners: ReplayListener[] = [];
  private readonly idempotency = new Map<string, { expiresAtMs: number; response: string }>();
  private readonly inflight = new Map<string, Promise<IngestResult>>();
  /** bytes of requests past the backpressure check whose rows are not applied yet */
  private reserved = 0;
  private backlog: FlushBacklog | null = null;

  constructor(
    private readonly deps: {
      wal: WriteAheadLog;
      streams: StreamRegistry;
      catalog: Catalog;
      metrics: ServerMetrics;
      log: Logger;
      decode: BatchDecoder;
      idempotencyTtlMs: number;
      /**
       * Backpressure: past this many bytes in memtables (all streams, unflushed and flushing),
       * requests are refused with 429 and Retry-After until flushes catch up (Infinity: never).
       */
      refuseAboveBytes?: number;
    },
  ) {}

  /** Adds a listener called after each write's rows are applied; it must not throw or block. */
  onAppend(listener: AppendListener): void {
    this.appendListeners.push(listener);
  }

  /** Adds a listener called in WAL seq order as each live write is applied; it must not throw or block. */
  onApply(listener: ApplyListener): void {
    this.applyListeners.push(listener);
  }

  /** Adds a listener called for every record `recover()` reads; it must not throw. */
  onReplay(listener: ReplayListener): void {
    this.replayListeners.push(listener);
  }

  /** The rows of a WAL payload, by the decoder table (what replay applies). */
  decodeBatch(p: IngestPayload): ColumnBatch {
    return this.deps.decode(p);
  }

  /** Bytes of requests accepted past the backpressure check whose rows are not in a memtable yet. */
  reservedBytes(): number {
    return this.reserved;
  }

  /** Bytes of ingested data held in memtables, active and frozen (not yet dropped), all streams. */
  memtableBytes(): number {
    let n = 0;
    for (const s of this.deps.streams.list(null)) {
      n += s.mem.active.bytes;
      for (const f of s.mem.frozen) if (!f.dropWhenUnused) n += f.bytes;
    }
    return n;
  }

  /** Sets how refusals learn the flush backlog's drain time and wake the flusher (Flusher). */
  setFlushBacklog(backlog: FlushBacklog): void {
    this.backlog = backlog;
  }

  /**
   * Backpressure before the budget is exceeded: what memtables hold, plus what requests already
   * past this check will add, plus this request's bytes, must stay within
   * `memtable.refuseAboveBytes`; else 429 with a Retry-After of the time the flushes need to drain
   * the backlog (at their measured rate), and the flusher is woken.
   */
  private checkBackpressure(adds: number): void {
    const limit = this.deps.refuseAboveBytes ?? Infinity;
    if (limit === Infinity) return;
    if (adds > limit)
      throw new MoleError(
        `this request adds ${adds} bytes to memtables, more than memtable.refuseAboveBytes (${limit}) allows in total; send smaller batches or raise the limit (or memory.budgetBytes)`,
        { code: 'MS_ERR_BODY_TOO_LARGE', status: 413, reason: 'request_body_too_large' },
      );
    const held = this.memtableBytes() + this.reserved;
    if (held + adds <= limit) return;
    this.deps.metrics.discarded.inc({ reason: 'backpressure' });
    this.backlog?.onRefused();
    const retryAfterSeconds = this.backlog?.drainSeconds(held) ?? 1;
    throw new MoleError(
      `ingest is paused: memtables hold ${held} bytes and this request adds ${adds}, above memtable.refuseAboveBytes (${limit}), while flushes to storage catch up; retry after the Retry-After delay (${retryAfterSeconds} s)`,
      {
        code: 'MS_ERR_BACKPRESSURE',
        status: 429,
        reason: 'backpressure',
        retryable: true,
        retryAfterSeconds,
      },
    );
  }

  /** Ingests one decoded request. `batch` must be `decode(payload)`. */
  async write(p: IngestPayload, batch: ColumnBatch): Promise<IngestResult> {
    if (p.idempotencyKey === '') return this.reserveAndWrite(p, batch);
    const id = idemId(p.org, scopedKey(p));
    const known = this.idempotency.get(id);
    if (known && known.expiresAtMs >= Date.now()) {
      this.deps.metrics.idempotentReplays.inc();
      return JSON.parse(known.response) as IngestResult;
    }
    const running = this.inflight.get(id);
    if (running) {
      this.deps.metrics.idempotentReplays.inc();
      return running;
    }
    const promise = this.reserveAndWrite(p, batch);
    this.inflight.set(id, promise);
    try {
      return await promise;
    } finally {
      this.inflight.delete(id);
    }
  }

  /** Counts the request's bytes against the budget from the check until its rows are applied. */
  private async reserveAndWrite(p: IngestPayload, batch: ColumnBatch): Promise<IngestResult> {
    const bytes = heldBytesOf(p);
    this.checkBackpressure(bytes);
    this.reserved += bytes;
    let reserved = true;
    try {
      return await this.writeOnce(p, batch, () => {
        // applied: the memtable counts the bytes from now on
        this.reserved -= bytes;
        reserved = false;
      });
    } finally {
      if (reserved) this.reserved -= bytes;
    }
  }

  private resultOf(batch: ColumnBatch): IngestResult {
    return {
      accepted: batch.rowCount,
      rejected: batch.rejectedCount,
      rejectedMessage: batch.rejectedMessage,
    };
  }

  private async writeOnce(
    p: IngestPayload,
    batch: ColumnBatch,
    onApplied: () => void,
  ): Promise<IngestResult> {
    const stream = await this.deps.streams.getOrCreate(p.org, p.signal, p.stream);
    await this.deps.streams.prepare(stream, batch);
    if (!stream.mem.hasColumnsFor(batch, stream.schema)) {
      // Another request planned some of these fields and is still adding their columns under
      // the stream lock; appended now, their values would be dropped. Wait for it to finish.
      await stream.lock.run(async () => {});
      if (!stream.mem.hasColumnsFor(batch, stream.schema)) {
        throw new Error(
          `stream ${stream.type}/${stream.name}: a column of this batch is planned but missing from the memtable`,
        );
      }
    }
    const result = this.resultOf(batch);
    const failure: { error?: Error } = {};
    await this.deps.wal.append(encodePayload(p), (seq) => {
      onApplied();
      try {
        this.apply(stream, p, batch, seq, result);
      } catch (e) {
        failure.error = e instanceof Error ? e : new Error(String(e));
        return;
      }
      for (const listener of this.applyListeners) {
        try {
          listener(p, batch, seq);
        } catch (e) {
          this.deps.log.error({ err: e }, 'apply listener failed');
        }
      }
    });
    if (failure.error) throw failure.error;
    for (const listener of this.appendListeners) {
      try {
        listener(p.org, p.signal, batch);
      } catch (e) {
        this.deps.log.error({ err: e }, 'append listener failed');
      }
    }
    this.deps.metrics.ingestedRecords.inc({ signal: p.signal }, batch.rowCount);
    this.deps.metrics.ingestedBytes.inc({ signal: p.signal }, p.decodedBytes ?? p.body.length);
    if (batch.rejectedCount > 0)
      this.deps.metrics.discarded.inc({ reason: 'invalid_record' }, batch.rejectedCount);
    return result;
  }

  private apply(
    stream: StreamState,
    p: IngestPayload,
    batch: ColumnBatch,
    seq: number,
    result: IngestResult,
  ): void {
    stream.mem.append(batch, stream.schema, seq, heldBytesOf(p));
    if (p.idempotencyKey !== '') {
      const entry = {
        expiresAtMs: p.receivedAtMs + this.deps.idempotencyTtlMs,
        response: JSON.stringify(result),
      };
      this.idempotency.set(idemId(p.org, scopedKey(p)), entry);
      stream.mem.active.idempotency.push({ key: scopedKey(p), ...entry });
    }
  }

  /**
   * At start: restore remembered keys, then re-apply every WAL record not yet in a committed file
   * (seq above its stream's flushed seq).
   */
  async recover(): Promise<{
    records: number;
    applied: number;
    deferred: number;
    tornTail: boolean;
    lastSeq: number;
  }> {
    const now = Date.now();
    for (const k of await this.deps.catalog.loadIdempotencyKeys(now)) {
      this.idempotency.set(idemId(k.org, k.key), { expiresAtMs: k.expiresAtMs, response: k.response });
    }
    // Streams and fields are written to the catalog before a record enters the WAL, so every
    // replayed record normally applies synchronously, straight from the WAL's read buffer, and
    // replay memory stays bounded by the memtables. A record whose stream or fields are missing
    // (not expected) is copied and applied after the scan.
    const deferred: { seq: number; payload: Uint8Array }[] = [];
    let applied = 0;
    const r = await this.deps.wal.replay(0, (seq, payload) => {
      const p = decodePayload(payload);
      for (const listener of this.replayListeners) listener(seq, p);
      const stream = this.deps.streams.get(p.org, p.signal, p.stream);
      if (stream && seq <= stream.flushedSeq) return;
      const batch = stream ? this.deps.decode(p) : null;
      if (!stream || !batch || !this.deps.streams.isPrepared(stream, batch)) {
        deferred.push({ seq, payload: payload.slice() });
        return;
      }
      this.apply(stream, p, batch, seq, this.resultOf(batch));
      applied++;
    });
    for (const { seq, payload } of deferred) {
      const p = decodePayload(payload);
      const stream = await this.deps.streams.getOrCreate(p.org, p.signal, p.stream);
      if (seq <= stream.flushedSeq) continue;
      const batch = this.deps.decode(p);
      await this.deps.streams.prepare(stream, batch);
      this.apply(stream, p, batch, seq, this.resultOf(batch));
      applied++;
    }
    for (const [id, v] of this.idempotency) if (v.expiresAtMs < now) this.idempotency.delete(id);
    return {
      records: r.records,
      applied,
      deferred: deferred.length,
      tornTail: r.tornTail,
      lastSeq: r.lastSeq,
    };
  }
}
