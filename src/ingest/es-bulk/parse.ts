/**
 * Elasticsearch `_bulk` NDJSON → log rows (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk).
 * Pure: bytes in, items and columns out.
 *
 * The body is action lines, each followed by a source line for `index`, `create` and `update`.
 * `index` and `create` store their document as one row (document.ts: `@timestamp` → _timestamp,
 * `message`/`log`/`msg` → body, the other fields → attr.*). `update` and `delete` cannot apply to
 * append-only logs: they become per-item errors (400), as does a source line that is not a JSON
 * object or whose time cannot be read; the request still succeeds for the other items, as in
 * Elasticsearch. A malformed action line refuses the whole request (400), as Elasticsearch does.
 */
import { badRequest } from '../../lib/errors.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { addDocument, checkDocument, type CheckedDoc } from '../json-docs/document.ts';
import { LogRows } from '../log-rows.ts';
import { utf8Slice } from '../utf8.ts';

export type BulkOp = 'index' | 'create' | 'update' | 'delete';

export interface BulkItem {
  op: BulkOp;
  index: string | undefined;
  id: string | undefined;
  /** the document, for a storable item */
  doc?: CheckedDoc;
  error?: { type: string; reason: string };
  /** byte ranges of the action line and of the source line (if any) */
  start: number;
  end: number;
}

const OPS: ReadonlySet<string> = new Set(['index', 'create', 'update', 'delete']);

const malformed = (line: number, what: string) =>
  badRequest(`Malformed action/metadata line [${line}]: ${what}`, 'MS_ERR_BAD_JSON', 'bad_json');

/** Lines as [start, end) byte ranges without the `\n` (and a trailing `\r`); blank lines dropped. */
function lines(buf: Buffer): [number, number, number][] {
  const out: [number, number, number][] = [];
  let no = 0;
  for (let start = 0; start < buf.length;) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    no++;
    let e = end;
    if (e > start && buf[e - 1] === 0x0d) e--;
    let blank = true;
    for (let i = start; i < e && blank; i++) blank = buf[i] === 0x20 || buf[i] === 0x09;
    if (!blank) out.push([start, e, no]);
    start = end + 1;
  }
  return out;
}

export function parseBulk(body: Uint8Array, pathIndex: string | undefined): BulkItem[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const ls = lines(buf);
  const items: BulkItem[] = [];
  for (let i = 0; i < ls.length; i++) {
    const [start, end, no] = ls[i]!;
    let action: unknown;
    try {
      action = JSON.parse(utf8Slice(buf, start, end, `line ${no}`));
    } catch (e) {
      if (e instanceof SyntaxError) throw malformed(no, e.message);
      throw e;
    }
    if (typeof action !== 'object' || action === null || Array.isArray(action))
      throw malformed(no, 'expected an object');
    const keys = Object.keys(action);
    const op = keys[0];
    if (keys.length !== 1 || op === undefined || !OPS.has(op)) {
      throw malformed(
        no,
        `expected one of index, create, update, delete but found [${keys.join(', ').slice(0, 60)}]`,
      );
    }
    const meta = (action as Record<string, unknown>)[op];
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
      throw malformed(no, `"${op}" must be an object`);
    const m = meta as Record<string, unknown>;
    const index = typeof m._index === 'string' && m._index !== '' ? m._index : pathIndex;
    const id = typeof m._id === 'string' ? m._id : typeof m._id === 'number' ? String(m._id) : undefined;
    const item: BulkItem = { op: op as BulkOp, index, id, start, end };
    items.push(item);
    if (op === 'delete') {
      item.error = {
        type: 'illegal_argument_exception',
        reason: 'delete is not supported: log streams are append-only',
      };
      continue;
    }
    const source = ls[++i];
    if (!source) throw malformed(no, `the ${op} action has no source line after it`);
    item.end = source[1];
    if (op === 'update') {
      item.error = {
        type: 'illegal_argument_exception',
        reason: 'update is not supported: log streams are append-only',
      };
      continue;
    }
    try {
      item.doc = checkDocument(
        JSON.parse(utf8Slice(buf, source[0], source[1], `line ${source[2]}`)),
        `line ${source[2]}`,
      );
    } catch (e) {
      item.error = { type: 'document_parsing_exception', reason: e instanceof Error ? e.message : String(e) };
    }
  }
  return items;
}

export function bulkRows(items: readonly BulkItem[], nowNs: bigint): ColumnBatch {
  const rows = new LogRows(nowNs);
  for (const item of items) if (item.doc) addDocument(rows, item.doc);
  return rows.finish();
}

/** Replay: every storable item of the record (its stream was chosen when it was written). */
export function decodeEsBulk(p: IngestPayload): ColumnBatch {
  return bulkRows(parseBulk(p.body, undefined), p.nowNs);
}
