/**
 * A remote_write 1.0 `WriteRequest` (uncompressed protobuf) of one snapshot: the body of the
 * generator's WAL record, decoded by the same code as any remote_write request (at write and at
 * replay). The exemplar label is `traceID`, as Tempo's metrics-generator writes it (Grafana's
 * exemplar link for Tempo-made metrics is configured with that name), plus `span_id` when known. https://prometheus.io/docs/specs/prw/remote_write_spec/
 */
import { ProtobufWriter } from '../../lib/protobuf-writer.ts';
import type { SnapshotSeries } from './series-state.ts';

/** `previousMs`: the time of the 0 sample a new series starts with (the previous collection). */
export function encodeRemoteWriteV1(
  series: readonly SnapshotSeries[],
  timestampMs: number,
  previousMs: number,
): Uint8Array {
  const req = new ProtobufWriter();
  for (const s of series) {
    const ts = new ProtobufWriter();
    for (const l of s.labels) ts.message(1, new ProtobufWriter().string(1, l.name).string(2, l.value));
    if (s.isNew) ts.message(2, new ProtobufWriter().double(1, 0).uint(2, previousMs));
    ts.message(2, new ProtobufWriter().double(1, s.value).uint(2, timestampMs));
    if (s.exemplar) {
      const ex = new ProtobufWriter();
      ex.message(1, new ProtobufWriter().string(1, 'traceID').string(2, s.exemplar.traceId));
      if (s.exemplar.spanId !== '')
        ex.message(1, new ProtobufWriter().string(1, 'span_id').string(2, s.exemplar.spanId));
      ex.double(2, s.exemplar.value).uint(3, s.exemplar.timestampMs);
      ts.message(3, ex);
    }
    req.message(1, ts);
  }
  return req.finish();
}
