/**
 * Plain JSON log ingest (`/api/{org}/{stream}/_json`: a JSON array of objects; `/_multi`: one
 * object per line, NDJSON) → one log row per document (document.ts). Pure: bytes in, columns
 * out. Any bad document refuses the whole request (400 naming its index or line).
 */
import { badRequest } from '../../lib/errors.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { LogRows } from '../log-rows.ts';
import { utf8Text } from '../utf8.ts';
import { addDocument, checkDocument, type CheckedDoc } from './document.ts';

const badJson = (message: string) => badRequest(message, 'MS_ERR_BAD_JSON', 'bad_json');

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badJson(`${where}: malformed JSON: ${(e as Error).message}`);
  }
}

function rowsOf(docs: readonly CheckedDoc[], nowNs: bigint): ColumnBatch {
  const rows = new LogRows(nowNs);
  for (const d of docs) addDocument(rows, d);
  return rows.finish();
}

export function decodeJsonArray(p: IngestPayload): ColumnBatch {
  const v = parseJson(utf8Text(p.body), 'request body');
  if (!Array.isArray(v)) throw badJson('request body must be a JSON array of objects ([{...}, {...}])');
  return rowsOf(
    v.map((d, i) => checkDocument(d, `[${i}]`)),
    p.nowNs,
  );
}

/** Each non-blank line is one document; `\r\n` line ends are accepted. */
export function decodeNdjson(p: IngestPayload): ColumnBatch {
  const text = utf8Text(p.body);
  const docs: CheckedDoc[] = [];
  let line = 0;
  for (let start = 0; start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const s = text.slice(start, end).trim();
    start = end + 1;
    if (s === '') continue;
    docs.push(checkDocument(parseJson(s, `line ${line + 1}`), `line ${line + 1}`));
  }
  return rowsOf(docs, p.nowNs);
}
