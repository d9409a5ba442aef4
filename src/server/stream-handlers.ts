/** Stream APIs: list with stats, read a schema, change settings, flush now. */
import type { Catalog, StreamType } from '../catalog/catalog.ts';
import { badRequest, notFoundOrDenied } from '../lib/errors.ts';
import { toJsonSafe } from '../lib/json.ts';
import type { Flusher } from '../memtable/flush.ts';
import type { StreamRegistry, StreamState } from '../write/streams.ts';
import { sendJson } from './http-server.ts';
import { readJsonBody } from './json-body.ts';
import type { RequestContext } from './router.ts';

const TYPES: StreamType[] = ['logs', 'traces', 'metrics'];

function typeParam(ctx: RequestContext): StreamType | null {
  const t = ctx.query.get('type');
  if (t === null) return null;
  if (!TYPES.includes(t as StreamType)) throw badRequest(`type must be one of ${TYPES.join(', ')}`);
  return t as StreamType;
}

function findStreams(streams: StreamRegistry, ctx: RequestContext): StreamState[] {
  const type = typeParam(ctx);
  const name = ctx.params.stream ?? '';
  const found = streams
    .list(ctx.org!.id)
    .filter((s) => s.name === name && (type === null || s.type === type));
  if (found.length === 0) throw notFoundOrDenied(`stream "${name.slice(0, 64)}"`);
  return found;
}

/** One stream: `?type=` is required when a logs and a traces stream share the name. */
function findStream(streams: StreamRegistry, ctx: RequestContext): StreamState {
  const found = findStreams(streams, ctx);
  if (found.length > 1) {
    throw badRequest(
      `${found.map((s) => s.type).join(' and ')} streams are both named "${found[0]!.name}"; add ?type=${found[0]!.type} (or another type) to choose`,
    );
  }
  return found[0]!;
}

export function streamHandlers(deps: { streams: StreamRegistry; catalog: Catalog; flusher: Flusher }) {
  return {
    list: async (ctx: RequestContext) => {
      const org = ctx.org!.id;
      const stats = new Map((await deps.catalog.streamStats(org)).map((s) => [`${s.type}/${s.name}`, s]));
      const list = deps.streams.list(org).map((s) => {
        const st = stats.get(`${s.type}/${s.name}`);
        const memRows =
          s.mem.active.rows + s.mem.frozen.reduce((n, t) => n + (t.dropWhenUnused ? 0 : t.rows), 0);
        return {
          name: s.name,
          stream_type: s.type,
          settings: { retention_days: s.settings.retentionDays, max_fields: s.settings.maxFields },
          stats: toJsonSafe({
            rows: (st?.rows ?? 0) + memRows,
            files: st?.files ?? 0,
            bytes: st?.bytes ?? 0,
            memtable_rows: memRows,
            time_min: st?.minTs ?? null,
            time_max: st?.maxTs ?? null,
          }),
        };
      });
      sendJson(ctx.res, 200, { list });
    },
    schema: async (ctx: RequestContext) => {
      const s = findStream(deps.streams, ctx);
      const fields = await deps.catalog.listStreamFields(s.org, s.type, s.name);
      const d = s.schema.describe();
      sendJson(ctx.res, 200, {
        name: s.name,
        stream_type: s.type,
        settings: { retention_days: s.settings.retentionDays, max_fields: s.settings.maxFields },
        columns: d.columns.map((c) => ({
          name: c.name,
          type: c.sqlType,
          ...(c.valueType ? { value_type: c.valueType } : { fixed: true }),
        })),
        fields: fields.map((f) => ({
          key: f.key,
          value_type: f.valueType,
          placement: f.placement === 'overflow' ? '_attributes' : 'column',
          column: f.column,
        })),
      });
    },
    settings: async (ctx: RequestContext) => {
      const s = findStream(deps.streams, ctx);
      const body = await readJsonBody(ctx.req);
      const next = { ...s.settings };
      for (const [k, v] of Object.entries(body)) {
        if (k === 'retention_days') {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
            throw badRequest('retention_days must be a whole number of days, 0 = keep forever');
          next.retentionDays = v;
        } else if (k === 'max_fields') {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 10_000)
            throw badRequest('max_fields must be from 1 to 10000');
          next.maxFields = v;
        } else
          throw badRequest(`unknown stream setting "${k.slice(0, 40)}"; known: retention_days, max_fields`);
      }
      await deps.streams.updateSettings(s, next);
      sendJson(ctx.res, 200, { retention_days: next.retentionDays, max_fields: next.maxFields });
    },
    flush: async (ctx: RequestContext) => {
      let files = 0;
      let rows = 0;
      for (const s of findStreams(deps.streams, ctx)) {
        const r = await deps.flusher.flushStream(s);
        files += r.files;
        rows += r.rows;
      }
      sendJson(ctx.res, 200, { files, rows });
    },
  };
}
