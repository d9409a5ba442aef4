/**
 * One decoder per wire format. The write path calls it at WAL replay (and adapters call the same
 * function when a request arrives), so a replayed record becomes exactly the rows that were
 * acknowledged. Adding a protocol: reserve its format in `FORMATS` (wal-payload.ts), then add its
 * decoder to the table built in main.ts.
 */
import type { ColumnBatch } from '../write/column-batch.ts';
import type { IngestPayload, WireFormat } from '../write/wal-payload.ts';

export type BatchDecoder = (p: IngestPayload) => ColumnBatch;

export function decoderTable(table: Partial<Record<WireFormat, BatchDecoder>>): BatchDecoder {
  return (p) => {
    const decode = table[p.format];
    if (!decode) throw new Error(`no decoder for wire format "${p.format}" (WAL record of org ${p.org})`);
    return decode(p);
  };
}
