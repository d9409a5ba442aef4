/**
 * Exemplars kept with their series, as Prometheus keeps them: an in-memory circular buffer per org
 * (the newest `maxPerOrg` exemplars), filled by every metrics write that carries exemplars
 * (remote_write 1.0/2.0, OTLP metrics, the span metrics snapshots) and rebuilt at start from the WAL records
 * replay reads, so an acknowledged exemplar survives a crash while its record is in the WAL.
 * Each exemplar points at its series by registry id (the series is registered before the write).
 */
import { snappyDecompress } from '../lib/snappy.ts';
import { Labels } from '../promql/labels.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { ColumnBatch } from '../write/column-batch.ts';
import type { SeriesRegistry } from '../write/series-registry.ts';
import type { IngestPayload, PayloadExemplar } from '../write/wal-payload.ts';
import { payloadExemplars, translateOtlpMetrics } from './otlp-metrics/handler.ts';
import { decodeExemplars } from './remote-write/exemplars.ts';

export interface StoredExemplar {
  seriesId: number;
  labels: Labels;
  value: number;
  timestampMs: number;
}

class Ring {
  readonly items: StoredExemplar[] = [];
  private next = 0;
  /** the last exemplar per series, to drop a resent duplicate (Prometheus does the same) */
  private readonly last = new Map<number, string>();

  constructor(private readonly max: number) {}

  add(e: StoredExemplar): void {
    const id = `${e.timestampMs}\u0000${e.value}\u0000${e.labels.key}`;
    if (this.last.get(e.seriesId) === id) return;
    this.last.set(e.seriesId, id);
    if (this.items.length < this.max) this.items.push(e);
    else {
      this.items[this.next] = e;
      this.next = (this.next + 1) % this.max;
    }
  }
}

/** The exemplars of a metrics WAL record whose adapter did not hand them over (replay, remote_write). */
function decodePayloadExemplars(p: IngestPayload): PayloadExemplar[] {
  if (p.format === 'otlp-metrics-proto' || p.format === 'otlp-metrics-json')
    return payloadExemplars(translateOtlpMetrics(p));
  if (!p.format.startsWith('prw-')) return [];
  const body = p.format.endsWith('-snappy') ? snappyDecompress(p.body, Infinity) : p.body;
  return decodeExemplars(body, p.format.startsWith('prw-v2'));
}

export class ExemplarStore {
  private readonly orgs = new Map<OrgId, Ring>();

  constructor(
    private readonly registry: SeriesRegistry,
    private readonly maxPerOrg: number,
  ) {}

  /** WritePath apply listener. */
  readonly onApply = (p: IngestPayload, _batch: ColumnBatch): void => this.add(p);
  /** WritePath replay listener. */
  readonly onReplay = (_seq: number, p: IngestPayload): void => this.add(p);

  private add(p: IngestPayload): void {
    if (p.signal !== 'metrics' || p.hasExemplars === false) return;
    let ring = this.orgs.get(p.org);
    for (const x of p.exemplars ?? decodePayloadExemplars(p)) {
      const id = this.registry.lookup(p.org, [Labels.from(x.series)])?.[0] ?? 0;
      if (id === 0) continue;
      if (!ring) this.orgs.set(p.org, (ring = new Ring(this.maxPerOrg)));
      ring.add({ seriesId: id, labels: Labels.from(x.labels), value: x.value, timestampMs: x.timestampMs });
    }
  }

  /** Exemplars of the given series in [startMs, endMs], by series, oldest first. */
  select(
    org: OrgId,
    seriesIds: ReadonlySet<number>,
    startMs: number,
    endMs: number,
  ): Map<number, StoredExemplar[]> {
    const out = new Map<number, StoredExemplar[]>();
    for (const e of this.orgs.get(org)?.items ?? []) {
      if (!seriesIds.has(e.seriesId) || e.timestampMs < startMs || e.timestampMs > endMs) continue;
      let list = out.get(e.seriesId);
      if (!list) out.set(e.seriesId, (list = []));
      list.push(e);
    }
    for (const list of out.values()) list.sort((a, b) => a.timestampMs - b.timestampMs);
    return out;
  }
}
