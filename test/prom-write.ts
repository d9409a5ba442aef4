/** Prometheus remote_write 1.0 bodies for tests, built field by field with the protobuf writer. */
import { ProtobufWriter as W } from '../src/lib/protobuf-writer.ts';
import { snappyCompress } from '../src/lib/snappy.ts';
import type { ServerProcess } from './harness.ts';

export interface TestSeries {
  labels: Record<string, string>;
  /** [ms, value] */
  samples: [number, number][];
  /** a staleness marker (StaleNaN) at this time, after the samples */
  staleAt?: number;
  /** exemplars: labels (e.g. trace_id), [ms, value] */
  exemplars?: { labels: Record<string, string>; at: [number, number] }[];
}

/** A WriteRequest (uncompressed); metadata entries are [metric family, type enum, help]. */
export function writeRequest(series: TestSeries[], metadata: [string, number, string][] = []): Uint8Array {
  const req = new W();
  for (const s of series) {
    const ts = new W();
    for (const [k, v] of Object.entries(s.labels)) ts.message(1, new W().string(1, k).string(2, v));
    for (const [t, v] of s.samples) ts.message(2, new W().double(1, v).uint(2, t));
    if (s.staleAt !== undefined) ts.message(2, new W().doubleBits(1, 0x7ff0000000000002n).uint(2, s.staleAt));
    for (const e of s.exemplars ?? []) {
      const ex = new W();
      for (const [k, v] of Object.entries(e.labels)) ex.message(1, new W().string(1, k).string(2, v));
      ts.message(3, ex.double(2, e.at[1]).uint(3, e.at[0]));
    }
    req.message(1, ts);
  }
  for (const [name, type, help] of metadata)
    req.message(3, new W().uint(1, type).string(2, name).string(4, help));
  return req.finish();
}

/** Remote-writes the series (snappy) and returns the response. */
export function remoteWrite(
  server: ServerProcess,
  series: TestSeries[],
  path = '/api/v1/write',
): Promise<Response> {
  return server.fetch(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    },
    body: snappyCompress(writeRequest(series)),
  });
}
