/**
 * HTTP API of the compactor (org admins): `POST /api/{org}/_compact` (one cycle now),
 * `GET|PUT /api/{org}/_settings` (the org's default retention), `POST /api/{org}/_delete` (rows by
 * time range, LogQL stream selector and line filters, or SQL `WHERE`; `dry_run`), and Loki's
 * `POST /loki/api/v1/delete`. docs/operations.md#compaction-retention-and-deletes describes them.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, StreamType } from '../catalog/catalog.ts';
import { badRequest, MoleError } from '../lib/errors.ts';
import { quoteIdent } from '../memtable/memtable.ts';
import { toJsonSafe } from '../lib/json.ts';
import { isLogSelector, type LineFilterStage, type LogSelectorExpr } from '../logql/ast.ts';
import { mapLabelColumns } from '../logql/engine/labels-mapping.ts';
import { lineFilterSql, selectorSql } from '../logql/engine/sql.ts';
import { parseLokiTime } from '../logql/api/params.ts';
import { parseLogQL } from '../logql/parser/index.ts';
import type { EnginePool } from '../memtable/org-engine.ts';
import { validateAndRewrite } from '../query/sql-validator.ts';
import { sendJson } from '../server/http-server.ts';
import { readJsonBody } from '../server/json-body.ts';
import type { RequestContext } from '../server/router.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { StreamRegistry, StreamState } from '../write/streams.ts';
import type { Compactor, DeleteWhere, RemovalReport, RowSelection } from './compactor.ts';

const TYPES: StreamType[] = ['logs', 'traces', 'metrics'];
const MAX_RETENTION_DAYS = 365_000;
const DELETE_VIEW = '__delete_src';

function streamType(v: unknown, what: string): StreamType | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !TYPES.includes(v as StreamType))
    throw badRequest(`${what} must be one of ${TYPES.join(', ')}`);
  return v as StreamType;
}

function flag(v: unknown, what: string): boolean {
  if (v === undefined || v === null || v === 'false' || v === false) return false;
  if (v === 'true' || v === true || v === '') return true;
  throw badRequest(`${what} must be true or false`);
}

function time(v: unknown, what: string): bigint | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' && typeof v !== 'number')
    throw badRequest(`${what} must be RFC 3339, Unix seconds or Unix nanoseconds`);
  return parseLokiTime(String(v), what);
}

function streamsNamed(
  streams: StreamRegistry,
  org: OrgId,
  type: StreamType | undefined,
  name: string | undefined,
): StreamState[] {
  const found = streams
    .list(org)
    .filter((s) => (!type || s.type === type) && (name === undefined || s.name === name));
  if (name !== undefined && found.length === 0)
    throw badRequest(`no ${type ?? ''}${type ? ' ' : ''}stream named "${name.slice(0, 64)}" in this org`);
  return found;
}

/** A LogQL stream selector with optional line filters, as Loki's delete API takes. */
function logqlWhere(text: string): DeleteWhere {
  let expr;
  try {
    expr = parseLogQL(text);
  } catch (e) {
    throw badRequest(`query: ${(e as Error).message}`);
  }
  if (!isLogSelector(expr))
    throw badRequest('query must be a log stream selector with optional line filters, not a metric query');
  const sel: LogSelectorExpr = expr;
  const filters: LineFilterStage[] = [];
  for (const st of sel.pipeline) {
    if (st.type !== 'LineFilter' || lineFilterSql(st) === null)
      throw badRequest(
        'query may only hold a stream selector and line filters (|= != |~ !~ with strings); parsers, label filters and formatting stages cannot select rows to delete',
      );
    filters.push(st);
  }
  return {
    async sqlFor(conn, relation) {
      const described = await conn.runAndReadAll(`DESCRIBE ${relation}`);
      const mapping = mapLabelColumns(described.getRows().map((r) => String(r[0])));
      return [
        ...sel.matchers.map((m) => selectorSql(m, mapping.stream.get(m.name))),
        ...filters.map((f) => lineFilterSql(f)!),
      ].join(' AND ');
    },
  };
}

/** No rows, every column of the stream's schema: files lacking a newer column still bind it. */
function schemaColumns(s: StreamState): string {
  const cols = s.schema.describe().columns.map((c) => `NULL::${c.sqlType} AS ${quoteIdent(c.name)}`);
  return `SELECT ${cols.join(', ')}, NULL::BIGINT AS __fi, NULL::BIGINT AS __frn WHERE false`;
}

/** A SQL `WHERE` over the stream's columns, checked by the query validator (one SELECT, this stream only). */
async function sqlWhere(conn: DuckDBConnection, s: StreamState, where: string): Promise<DeleteWhere> {
  const view = (relation: string) =>
    `CREATE OR REPLACE TEMP VIEW ${DELETE_VIEW} AS SELECT * FROM (${relation}) UNION ALL BY NAME ${schemaColumns(s)}`;
  let rewritten: string;
  try {
    const q = await validateAndRewrite(
      conn,
      `SELECT * FROM ${s.type}."${s.name}" WHERE ${where}`,
      { has: (t, n) => t === s.type && n === s.name },
      () => DELETE_VIEW,
    );
    rewritten = q.rewrittenSql;
    // binds the columns now: a typo is a 400 here, not an error halfway through the files
    await conn.run(view(schemaColumns(s)));
    await conn.runAndReadAll(`SELECT count(*) FROM (${rewritten})`);
  } catch (e) {
    if (e instanceof MoleError && e.status >= 500) throw e;
    throw badRequest(`where: ${(e as Error).message}`);
  }
  return {
    async sqlFor(c, relation) {
      await c.run(view(relation));
      return `(__fi * 4294967296 + __frn) IN (SELECT __fi * 4294967296 + __frn FROM (${rewritten}))`;
    },
  };
}

const total = (list: RemovalReport[]) => ({
  rows: list.reduce((n, r) => n + r.rows, 0),
  bytes: list.reduce((n, r) => n + r.bytes, 0),
  files_dropped: list.reduce((n, r) => n + r.files_dropped, 0),
  files_rewritten: list.reduce((n, r) => n + r.files_rewritten, 0),
});

export function compactorHandlers(deps: {
  compactor: Compactor;
  catalog: Catalog;
  streams: StreamRegistry;
  engines: EnginePool;
}) {
  const { compactor, catalog, streams } = deps;

  interface DeleteRequest {
    type: StreamType;
    stream: string | undefined;
    startNs: bigint | null;
    endNs: bigint | null;
    query: string | undefined;
    where: string | undefined;
    dryRun: boolean;
  }

  async function runDelete(org: OrgId, req: DeleteRequest) {
    if (req.startNs !== null && req.endNs !== null && req.startNs >= req.endNs)
      throw badRequest('start must be before end');
    if (req.startNs === null && req.endNs === null && req.query === undefined && req.where === undefined)
      throw badRequest('give start, end, query or where: a delete of every row is not taken without one');
    if (req.query !== undefined && req.type !== 'logs')
      throw badRequest('query (LogQL) applies to logs streams only');
    if (req.where !== undefined && req.type === 'metrics')
      throw badRequest('where applies to logs and traces streams; metrics streams take start and end only');
    if (req.where !== undefined && req.stream === undefined) throw badRequest('where needs a stream');
    if (req.query === undefined && req.stream === undefined)
      throw badRequest('give a stream (or a LogQL query)');
    const targets = streamsNamed(streams, org, req.type, req.stream);
    const logql = req.query !== undefined ? logqlWhere(req.query) : null;
    const plans: { s: StreamState; sel: RowSelection }[] = [];
    const conn = await (await deps.engines.get(org)).connect();
    try {
      for (const s of targets) {
        const where = req.where !== undefined ? await sqlWhere(conn, s, req.where) : logql;
        plans.push({ s, sel: { startNs: req.startNs, endNs: req.endNs, where } });
      }
    } finally {
      conn.closeSync();
    }
    const reports: RemovalReport[] = [];
    for (const p of plans) reports.push(await compactor.deleteRows(p.s, p.sel, req.dryRun));
    return { dry_run: req.dryRun, ...total(reports), streams: reports };
  }

  return {
    compact: async (ctx: RequestContext) => {
      const org = ctx.org!.id;
      const type = streamType(ctx.query.get('type') ?? undefined, 'type');
      const stream = ctx.query.get('stream') ?? undefined;
      const dryRun = flag(ctx.query.get('dry_run') ?? undefined, 'dry_run');
      streamsNamed(streams, org, type, stream);
      const report = await compactor.runCycle({ org, type, stream }, { force: true, dryRun });
      // a stream that failed makes the answer a 500 (the report says which, the others went on)
      sendJson(ctx.res, report.errors.length === 0 ? 200 : 500, toJsonSafe(report));
    },
    getSettings: async (ctx: RequestContext) => {
      const s = await catalog.getOrgSettings(ctx.org!.id);
      sendJson(ctx.res, 200, { default_retention_days: s.defaultRetentionDays });
    },
    putSettings: async (ctx: RequestContext) => {
      const body = await readJsonBody(ctx.req);
      const next = await catalog.getOrgSettings(ctx.org!.id);
      for (const [k, v] of Object.entries(body)) {
        if (k !== 'default_retention_days')
          throw badRequest(`unknown org setting "${k.slice(0, 40)}"; known: default_retention_days`);
        if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_RETENTION_DAYS))
          throw badRequest(
            `default_retention_days must be a whole number of days from 0 to ${MAX_RETENTION_DAYS} (0 = keep forever) or null (not set)`,
          );
        next.defaultRetentionDays = v;
      }
      await catalog.setOrgSettings(ctx.org!.id, next);
      sendJson(ctx.res, 200, { default_retention_days: next.defaultRetentionDays });
    },
    delete: async (ctx: RequestContext) => {
      const body = await readJsonBody(ctx.req);
      const known = ['type', 'stream', 'start', 'end', 'query', 'where', 'dry_run'];
      for (const k of Object.keys(body))
        if (!known.includes(k))
          throw badRequest(`unknown field "${k.slice(0, 40)}"; known: ${known.join(', ')}`);
      const text = (k: string) => {
        const v = body[k];
        if (v === undefined || v === null) return undefined;
        if (typeof v !== 'string' || v.trim() === '') throw badRequest(`${k} must be a non-empty string`);
        return v;
      };
      const req: DeleteRequest = {
        type: streamType(body.type, 'type') ?? 'logs',
        stream: text('stream'),
        startNs: time(body.start, 'start'),
        endNs: time(body.end, 'end'),
        query: text('query'),
        where: text('where'),
        dryRun: flag(body.dry_run, 'dry_run'),
      };
      sendJson(ctx.res, 200, toJsonSafe(await runDelete(ctx.org!.id, req)));
    },
    /** Loki's delete request API: `query`, `start`, `end` (optional, now) as parameters; 204. */
    lokiDelete: async (ctx: RequestContext) => {
      const query = ctx.query.get('query');
      if (!query) throw badRequest('query is required: a LogQL stream selector');
      const start = ctx.query.get('start');
      if (!start) throw badRequest('start is required (Unix seconds or RFC 3339)');
      await runDelete(ctx.org!.id, {
        type: 'logs',
        stream: undefined,
        startNs: time(start, 'start'),
        endNs: time(ctx.query.get('end') ?? undefined, 'end') ?? BigInt(Date.now()) * 1_000_000n,
        query,
        where: undefined,
        dryRun: false,
      });
      ctx.res.writeHead(204);
      ctx.res.end();
    },
  };
}
