/**
 * Span metrics on the write path. Every live traces write is consumed, inside the WAL's durable
 * callback (so in WAL seq order), by its org's MetricsGenerator; every `intervalMs` each org's
 * snapshot (one sample per series) is written as an ordinary metrics write: a remote_write 1.0
 * body through the WAL into `metrics._samples`, with exemplars.
 *
 * Invariant (no double count, no loss at a crash): a snapshot record names the last WAL seq it
 * covers (param `coveredSeq`: every traces record up to it was consumed before the snapshot).
 * At start, the state is the last stored value of each generated series (Parquet + the memtables
 * replay rebuilt), and the traces records replay reads above the org's last `coveredSeq` are
 * consumed again; records at or below it are already in the stored values.
 */
import type { Logger } from '../../lib/logger.ts';
import { decodeRemoteWrite, resolveSeries, samplesBatch } from '../../ingest/remote-write/to-batch.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { SAMPLES_STREAM } from '../../write/fixed-columns.ts';
import type { SeriesLimits, SeriesRegistry } from '../../write/series-registry.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import type { BatchDecoder, WritePath } from '../../write/write-path.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import { MetricsGenerator, type GeneratorConfig } from './processor.ts';
import { encodeRemoteWriteV1 } from './remote-write-encode.ts';
import { spanColumns } from './span-columns.ts';

export interface SpanMetricsConfig extends GeneratorConfig {
  intervalMs: number;
  /** series not updated for this long are no longer written (Tempo's `stale_duration`) */
  staleMs: number;
}

/** The WAL param naming a snapshot record's covered seq. */
export const COVERED_SEQ_PARAM = 'spanmetricsCoveredSeq';

/** The last stored value of every generated series of an org (after WAL replay). */
export type ReadLastValues = (
  org: OrgId,
  sinceMs: number,
) => Promise<{ labels: { name: string; value: string }[]; value: number }[]>;

export class SpanMetricsRuntime {
  private readonly generators = new Map<OrgId, MetricsGenerator>();
  private lastAppliedSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** replay: per org, the traces records above its last covered seq, to consume again */
  private readonly replayPending = new Map<OrgId, { seq: number; payload: IngestPayload }[]>();

  constructor(
    private readonly deps: {
      writePath: WritePath;
      registry: SeriesRegistry;
      limits: SeriesLimits;
      log: Logger;
      decode: BatchDecoder;
      readLast: ReadLastValues;
      config: SpanMetricsConfig;
    },
  ) {}

  private generator(org: OrgId): MetricsGenerator {
    let g = this.generators.get(org);
    if (!g) {
      g = new MetricsGenerator(this.deps.config);
      this.generators.set(org, g);
    }
    return g;
  }

  /** WritePath apply listener: a live write, in WAL seq order. */
  readonly onApply = (p: IngestPayload, batch: ColumnBatch, seq: number): void => {
    this.lastAppliedSeq = Math.max(this.lastAppliedSeq, seq);
    if (p.signal !== 'traces' || batch.rowCount === 0) return;
    this.generator(p.org).consume(spanColumns(batch), Date.now());
  };

  /** WritePath replay listener: every record replay reads, flushed or not, in seq order. */
  readonly onReplay = (seq: number, p: IngestPayload): void => {
    this.lastAppliedSeq = Math.max(this.lastAppliedSeq, seq);
    if (p.signal === 'traces') {
      let list = this.replayPending.get(p.org);
      if (!list) this.replayPending.set(p.org, (list = []));
      list.push({ seq, payload: { ...p, body: p.body.slice() } });
      return;
    }
    const covered = Number(p.params?.[COVERED_SEQ_PARAM] ?? NaN);
    if (p.signal !== 'metrics' || !Number.isFinite(covered)) return;
    const list = this.replayPending.get(p.org);
    if (list)
      this.replayPending.set(
        p.org,
        list.filter((r) => r.seq > covered),
      );
  };

  /**
   * After WAL replay, before requests are accepted: each org's state from its stored series, then
   * the traces records no snapshot covered consumed again.
   */
  async restore(orgs: readonly OrgId[]): Promise<{ series: number; records: number }> {
    let series = 0;
    let records = 0;
    const now = Date.now();
    for (const org of orgs) {
      const last = await this.deps.readLast(org, now - this.deps.config.staleMs);
      if (last.length === 0 && !this.replayPending.has(org)) continue;
      const g = this.generator(org);
      for (const s of last) g.restore(s.labels, s.value, now);
      series += last.length;
    }
    for (const [org, list] of this.replayPending) {
      const g = this.generator(org);
      for (const r of list) {
        g.consume(spanColumns(this.deps.decode(r.payload)), r.payload.receivedAtMs);
        records++;
      }
    }
    this.replayPending.clear();
    return { series, records };
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.collectAll());
    }, this.deps.config.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes a last snapshot (graceful shutdown, before the final flush). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.collectAll();
  }

  /** Writes every org's snapshot now (the timer's work; tests call it through stop()). */
  async collectAll(): Promise<void> {
    for (const org of [...this.generators.keys()]) {
      try {
        await this.collect(org);
      } catch (e) {
        this.deps.log.warn(
          { err: e, org },
          'span metrics: writing the snapshot failed; the next interval retries',
        );
      }
    }
  }

  private async collect(org: OrgId): Promise<void> {
    const g = this.generators.get(org)!;
    const now = Date.now();
    // synchronous from here to the snapshot: no apply runs in between, so coveredSeq is exact
    const covered = this.lastAppliedSeq;
    const series = g.collect(now, this.deps.config.staleMs);
    if (series.length === 0) return;
    const body = encodeRemoteWriteV1(series, now, now - this.deps.config.intervalMs);
    const payload: IngestPayload = {
      org,
      signal: 'metrics',
      stream: SAMPLES_STREAM,
      format: 'prw-v1',
      idempotencyKey: '',
      receivedAtMs: now,
      nowNs: BigInt(now) * 1_000_000n,
      body,
      params: { [COVERED_SEQ_PARAM]: String(covered) },
    };
    const rw = decodeRemoteWrite(payload);
    const { ids, rejected } = await resolveSeries(this.deps.registry, org, rw, this.deps.limits);
    await this.deps.writePath.write(payload, samplesBatch(rw, ids));
    if (rejected.length > 0)
      this.deps.log.warn(
        { org, rejected: rejected.length },
        'span metrics: series refused by a series limit',
      );
  }
}
