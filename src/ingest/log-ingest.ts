/**
 * What the log handlers other than OTLP share: the stream choice (the `stream-name` header wins,
 * then the protocol's own notion, then `default`), the record limits over every batch of the
 * request before anything is written, and one write per stream.
 */
import type { IncomingMessage } from 'node:http';
import { headerOf } from '../server/http-server.ts';
import type { ColumnBatch } from '../write/column-batch.ts';
import { checkStreamName } from '../write/streams.ts';
import type { IngestPayload } from '../write/wal-payload.ts';
import type { WritePath } from '../write/write-path.ts';
import type { IngestConfig } from './otlp/types.ts';
import { checkRecordLimits, type RecordLimits } from './record-limits.ts';

export interface LogIngestDeps {
  writePath: WritePath;
  config: IngestConfig & RecordLimits;
}

/** `stream-name` header, else `protocolStream` (already a valid name), else `default`. */
export function streamOf(req: IncomingMessage, protocolStream?: string): string {
  const header = headerOf(req, 'stream-name');
  if (header !== undefined && header !== '') return checkStreamName(header);
  return protocolStream ?? 'default';
}

/**
 * A protocol's index name (Elasticsearch `_index`, HEC `index`) as a stream name: lowercased,
 * every character outside [a-z0-9_-] replaced by `_`, leading `_`/`-` dropped, cut to 63
 * characters (`logs-app.2024.05.01` → `logs-app_2024_05_01`). Empty: `default`.
 */
export function indexToStream(index: string): string {
  const s = index
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .replace(/^[_-]+/, '')
    .slice(0, 63);
  return s === '' ? 'default' : checkStreamName(s);
}

export interface StreamPart {
  payload: IngestPayload;
  batch: ColumnBatch;
}

const NEWLINE = Buffer.from('\n');

/**
 * One part per stream for a request whose records (byte ranges of `request.body`) may name
 * several streams. One stream: the body as it came (its decoder skips what it skipped here);
 * several: each stream's records, one per line, so replay decodes each WAL record alone.
 */
export function partsByStream<T extends { start: number; end: number }>(
  request: Omit<IngestPayload, 'stream'>,
  records: readonly T[],
  streamOf: (record: T) => string,
  toBatch: (records: T[]) => ColumnBatch,
): StreamPart[] {
  const groups = new Map<string, T[]>();
  for (const r of records) {
    const stream = streamOf(r);
    let list = groups.get(stream);
    if (!list) groups.set(stream, (list = []));
    list.push(r);
  }
  const body = request.body;
  const parts: StreamPart[] = [];
  for (const [stream, list] of groups) {
    const own =
      groups.size === 1 ? body : Buffer.concat(list.flatMap((r) => [body.subarray(r.start, r.end), NEWLINE]));
    parts.push({ payload: { ...request, stream, body: own }, batch: toBatch(list) });
  }
  return parts;
}

/** Checks the limits over all parts, then writes each; returns the rows written. */
export async function writeLogParts(deps: LogIngestDeps, parts: readonly StreamPart[]): Promise<number> {
  if (parts.length === 0) return 0;
  checkRecordLimits(
    parts.map((p) => p.batch),
    parts[0]!.payload.nowNs,
    deps.config,
  );
  let rows = 0;
  for (const { payload, batch } of parts) rows += (await deps.writePath.write(payload, batch)).accepted;
  return rows;
}
