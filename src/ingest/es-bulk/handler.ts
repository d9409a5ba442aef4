/**
 * Elasticsearch `_bulk` (`POST /_bulk`, `/{index}/_bulk`, `/api/{org}/_bulk`) and the handshake
 * routes that Beats, Logstash, Vector and Fluent Bit call before it. Every answer carries
 * `X-Elastic-Product: Elasticsearch` (the official clients refuse a server without it).
 *
 * Stream per item: the `stream-name` header, else the action's `_index`, else the path's index,
 * else `default` (an index name becomes a stream name by indexToStream). A request over several
 * streams is written as one WAL record per stream holding that stream's action/source pairs.
 * The answer is Elasticsearch's: `{took, errors, items: [{<op>: {_index, _id, status, result |
 * error}}]}`; a refused item does not fail the request.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import { readIngestRequest } from '../ingest-request.ts';
import { indexToStream, partsByStream, streamOf, writeLogParts, type LogIngestDeps } from '../log-ingest.ts';
import { bulkRows, parseBulk, type BulkItem } from './parse.ts';

export function sendElastic(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-elastic-product': 'Elasticsearch',
  });
  res.end(text);
}

export function bulkHandler(deps: LogIngestDeps) {
  return async (ctx: RequestContext): Promise<void> => {
    const started = performance.now();
    const request = await readIngestRequest(ctx.req, deps.config);
    const items = parseBulk(request.body, ctx.params.index);
    const header = headerOf(ctx.req, 'stream-name');
    const streamOfItem = new Map<BulkItem, string>();
    for (const item of items) {
      streamOfItem.set(item, header ? streamOf(ctx.req) : indexToStream(item.index ?? ''));
    }
    const parts = partsByStream(
      { org: ctx.org!.id, signal: 'logs', format: 'es-bulk', ...request },
      items.filter((item) => item.doc !== undefined),
      (item) => streamOfItem.get(item)!,
      (list) => bulkRows(list, request.nowNs),
    );
    await writeLogParts(deps, parts);
    let errors = false;
    let seq = 0;
    const out = items.map((item) => {
      const _index = streamOfItem.get(item)!;
      const _id = item.id ?? randomBytes(15).toString('base64url');
      if (item.error) {
        errors = true;
        return { [item.op]: { _index, _id, status: 400, error: item.error } };
      }
      return {
        [item.op]: {
          _index,
          _id,
          _version: 1,
          result: 'created',
          _shards: { total: 1, successful: 1, failed: 0 },
          _seq_no: seq++,
          _primary_term: 1,
          status: 201,
        },
      };
    });
    sendElastic(ctx.res, 200, { took: Math.round(performance.now() - started), errors, items: out });
  };
}
