/** Picks the OTLP decoder for a payload: the one function both ingest and WAL replay call. */
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { decodeLogsJson, decodeTracesJson } from './parse-json.ts';
import { decodeLogsProto, decodeTracesProto } from './parse-proto.ts';

const utf8 = new TextDecoder();

export function decodeOtlp(p: IngestPayload): ColumnBatch {
  if (p.format === 'otlp-proto') {
    return p.signal === 'logs' ? decodeLogsProto(p.body, p.nowNs) : decodeTracesProto(p.body, p.nowNs);
  }
  const text = utf8.decode(p.body);
  return p.signal === 'logs' ? decodeLogsJson(text, p.nowNs) : decodeTracesJson(text, p.nowNs);
}
