/** Helpers of the compactor tests: batches pushed and flushed one file each, snapshots, file counts. */
import assert from 'node:assert/strict';
import { objectKeys, type ServerProcess } from './harness.ts';

export const HOUR_NS = 3_600_000_000_000n;
export const hourStart = (ns: bigint) => (ns / HOUR_NS) * HOUR_NS;
export const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** Pushes one Loki batch of `lines` to `stream`, every line at `ts` (ties keep push order). */
export async function pushBatch(
  server: ServerProcess,
  stream: string,
  labels: Record<string, string>,
  ts: bigint,
  lines: string[],
): Promise<void> {
  const res = await server.fetch('/loki/api/v1/push', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stream-name': stream },
    body: JSON.stringify({ streams: [{ stream: labels, values: lines.map((l) => [String(ts), l]) }] }),
  });
  assert.equal(res.status, 204, await res.text());
}

export async function flush(server: ServerProcess, stream: string, type = 'logs'): Promise<void> {
  const res = await server.fetch(`/api/default/streams/${stream}/_flush?type=${type}`, { method: 'POST' });
  assert.equal(res.status, 200, await res.text());
}

export async function postJson(server: ServerProcess, path: string, body?: unknown, method = 'POST') {
  const res = await server.fetch(path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** Runs `POST /api/default/_compact` and answers its report. */
export async function compact(server: ServerProcess, query = ''): Promise<CompactReport> {
  const r = await postJson(server, `/api/default/_compact${query}`);
  assert.equal(r.status, 200, r.text);
  return r.json() as unknown as CompactReport;
}
export interface CompactReport {
  dry_run: boolean;
  merged: {
    type: string;
    stream: string;
    bucket: string;
    input_files: number;
    rows: number;
    output_files: number;
  }[];
  retention: {
    stream: string;
    rows: number;
    bytes: number;
    files_dropped: number;
    files_rewritten: number;
  }[];
  deleted_objects: number;
  pending_deletes: number;
}

/** The catalogued file count and rows of a stream (streams API). */
export async function streamStats(server: ServerProcess, stream: string, type = 'logs') {
  const res = await server.fetch('/api/default/streams');
  const body = (await res.json()) as {
    list: {
      name: string;
      stream_type: string;
      stats: { files: number; rows: number; memtable_rows: number };
    }[];
  };
  const s = body.list.find((x) => x.name === stream && x.stream_type === type);
  return s?.stats ?? { files: 0, rows: 0, memtable_rows: 0 };
}

/** Object keys under the stream's directory in the store (local or S3), by suffix. */
export async function objectsOf(
  dataDir: string,
  stream: string,
  type = 'logs',
): Promise<{ parquet: string[]; bloom: string[] }> {
  const mine = (await objectKeys(dataDir)).filter(
    (k) => k.split('/')[1] === type && k.split('/')[2] === stream,
  );
  return {
    parquet: mine.filter((k) => k.endsWith('.parquet')),
    bloom: mine.filter((k) => k.endsWith('.parquet.bloom')),
  };
}

/** Every row of a logs stream as `ts|body`, in time then body order (SQL). */
export async function sqlRows(server: ServerProcess, stream: string): Promise<string[]> {
  const r = await server.search(
    `SELECT _timestamp AS t, body FROM logs."${stream}" ORDER BY _timestamp, body`,
  );
  return r.hits.map((h) => `${String(h.t)}|${String(h.body)}`);
}

/** A LogQL range query's answer (streams and their lines, in Loki's order). */
export async function logqlLines(server: ServerProcess, query: string, startNs: bigint, endNs: bigint) {
  const params = new URLSearchParams({
    query,
    start: String(startNs),
    end: String(endNs),
    limit: '5000',
    direction: 'forward',
  });
  const res = await server.fetch(`/loki/api/v1/query_range?${params.toString()}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text) as {
    data: { result: { stream: Record<string, string>; values: string[][] }[] };
  };
  return body.data.result
    .map((r) => ({ stream: JSON.stringify(Object.entries(r.stream).sort()), values: r.values }))
    .sort((a, b) => (a.stream < b.stream ? -1 : 1));
}
