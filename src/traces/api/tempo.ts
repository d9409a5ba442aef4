/**
 * Tempo's HTTP API except search (src/traces/traceql/): trace by id (v1 `{"batches"}`, v2
 * `{"trace": {"resourceSpans"}}`, OTLP JSON in Tempo's form or protobuf on
 * `Accept: application/protobuf`), tag names and values (v1 and v2), echo and build info. Shapes
 * and error texts follow the answers recorded from Tempo 2.7.2 (shared conformance set). Errors
 * are plain text, as Tempo's.
 */
import type { Logger } from '../../lib/logger.ts';
import { badRequest, MoleError } from '../../lib/errors.ts';
import { loki as plainTextErrors, sendJson } from '../../logql/api/params.ts';
import type { QuerySlots } from '../../logql/api/query.ts';
import type { RequestContext } from '../../server/router.ts';
import type { SpanReader, TimeBounds } from '../span-reader.ts';
import type { Span } from '../span.ts';
import { resourceSpansJson, tracesDataProto } from './otlp-out.ts';
import {
  INTRINSIC_TAGS,
  parseSimpleQuery,
  parseTagRef,
  TAG_SCOPES,
  tagNames,
  tagValues,
  type TagScope,
} from './tags.ts';

/** The Tempo release whose API this one follows (Grafana reads it from buildinfo). */
export const TEMPO_VERSION = 'v2.7.2';

/**
 * A trace id as Tempo accepts it: hex, up to 32 digits (leading zeros may be left out), as 32
 * lowercase digits. Tempo's error texts.
 */
export function parseTraceId(id: string): string {
  for (let i = 0; i < id.length; i++) {
    if (!/[0-9a-fA-F]/.test(id[i]!))
      throw badRequest(
        `trace IDs can only contain hex characters: invalid character '${id[i]!}' at position ${i + 1}`,
      );
  }
  if (id.length > 32) throw badRequest(`trace IDs can't be larger than 128 bits`);
  if (id.length === 0) throw badRequest('trace ID is empty');
  return id.toLowerCase().padStart(32, '0');
}

/** A Tempo time parameter (Unix seconds) in ns; null when absent. */
export function secondsParam(p: URLSearchParams, name: string): bigint | null {
  const v = p.get(name);
  if (v === null || v === '') return null;
  if (!/^\d+$/.test(v))
    throw badRequest(`invalid ${name}: ${JSON.stringify(v)} is not a Unix time in seconds`);
  return BigInt(v) * 1_000_000_000n;
}

function rangeOf(p: URLSearchParams): TimeBounds {
  const startNs = secondsParam(p, 'start');
  const endNs = secondsParam(p, 'end');
  if (startNs !== null && endNs !== null && endNs < startNs)
    throw badRequest('invalid start: start must not be after end');
  return { startNs, endNs: endNs === null ? null : endNs + 1_000_000_000n };
}

const wantsProtobuf = (ctx: RequestContext) =>
  /application\/(x-)?protobuf/.test(ctx.req.headers.accept ?? '');

function sendBytes(ctx: RequestContext, status: number, type: string, body: Uint8Array | string): void {
  ctx.res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

/**
 * The spans of a trace whose [first start, last end] overlaps the range (Tempo's rule), or []
 * when none: the whole trace is read, then the range decides.
 */
export async function traceInRange(
  reader: SpanReader,
  org: RequestContext['org'],
  id: string,
  range: TimeBounds,
): Promise<Span[]> {
  const spans = await reader.readTrace(org!.id, id);
  if (spans.length === 0) return spans;
  let first = spans[0]!.startNs;
  let last = spans[0]!.endNs;
  for (const s of spans) {
    if (s.startNs < first) first = s.startNs;
    if (s.endNs > last) last = s.endNs;
  }
  if (range.startNs != null && last < range.startNs) return [];
  if (range.endNs != null && first >= range.endNs) return [];
  return spans;
}

/** A trace API handler: runs in a query slot, errors answered as plain text (Tempo, Jaeger, Zipkin). */
export function slottedHandler(slots: QuerySlots, log: Logger) {
  return (fn: (ctx: RequestContext) => Promise<void>) =>
    plainTextErrors(async (ctx) => {
      const release = await slots.acquireSlot();
      try {
        await fn(ctx);
      } finally {
        release();
      }
    }, log);
}

export function tempoHandlers(deps: { reader: SpanReader; slots: QuerySlots; log: Logger; version: string }) {
  const { reader, log } = deps;
  const handle = slottedHandler(deps.slots, log);

  const traceById = (v2: boolean) =>
    handle(async (ctx) => {
      const id = parseTraceId(ctx.params.id ?? '');
      const spans = await traceInRange(reader, ctx.org, id, rangeOf(ctx.query));
      if (wantsProtobuf(ctx)) {
        if (spans.length === 0 && !v2) return sendBytes(ctx, 404, 'text/plain; charset=utf-8', '');
        const trace = tracesDataProto(spans);
        // v2: TraceByIDResponse { Trace trace = 1; }
        const body = v2 ? Buffer.concat([Buffer.from([0x0a]), varintBytes(trace.length), trace]) : trace;
        return sendBytes(ctx, 200, 'application/protobuf', body);
      }
      if (!v2) {
        if (spans.length === 0) return sendBytes(ctx, 404, 'text/plain; charset=utf-8', '');
        return sendJson(ctx.res, 200, { batches: resourceSpansJson(spans) });
      }
      sendJson(ctx.res, 200, { trace: spans.length ? { resourceSpans: resourceSpansJson(spans) } : {} });
    });

  const scopeParam = (p: URLSearchParams): string | null => {
    const s = p.get('scope');
    if (s === null || s === '' || s === 'none' || s === 'all') return null;
    if (s === 'intrinsic' || (TAG_SCOPES as readonly string[]).includes(s)) return s;
    throw badRequest(`invalid scope: ${s}`);
  };

  return {
    echo: (ctx: RequestContext) => {
      sendBytes(ctx, 200, 'text/plain; charset=utf-8', 'echo\n');
      return Promise.resolve();
    },
    buildinfo: (ctx: RequestContext) => {
      sendJson(ctx.res, 200, {
        version: TEMPO_VERSION,
        revision: deps.version,
        branch: 'HEAD',
        buildUser: '',
        buildDate: '',
        goVersion: '',
      });
      return Promise.resolve();
    },
    traceV1: traceById(false),
    traceV2: traceById(true),
    tagsV1: handle(async (ctx) => {
      const scope = scopeParam(ctx.query);
      const names = await tagNames(reader, ctx.org!.id, rangeOf(ctx.query), null);
      const all = new Set<string>();
      if (scope === 'intrinsic') INTRINSIC_TAGS.forEach((t) => all.add(t));
      for (const s of TAG_SCOPES) if (scope === null || scope === s) names[s].forEach((n) => all.add(n));
      sendJson(ctx.res, 200, { tagNames: [...all].sort() });
    }),
    tagsV2: handle(async (ctx) => {
      const scope = scopeParam(ctx.query);
      const conds = parseSimpleQuery(ctx.query.get('q'));
      const names = await tagNames(reader, ctx.org!.id, rangeOf(ctx.query), conds);
      const scopes: { name: string; tags: string[] }[] = [];
      for (const s of TAG_SCOPES) {
        if ((scope === null || scope === s) && names[s].size > 0)
          scopes.push({ name: s, tags: [...names[s]].sort() });
      }
      const raw = ctx.query.get('scope');
      if (scope === 'intrinsic' || raw === null || raw === '' || raw === 'all')
        scopes.push({ name: 'intrinsic', tags: INTRINSIC_TAGS });
      sendJson(ctx.res, 200, { scopes });
    }),
    tagValuesV1: handle(async (ctx) => {
      const tag = ctx.params.tag ?? '';
      const range = rangeOf(ctx.query);
      const ref =
        tag === 'status.code'
          ? parseTagRef('status')
          : tag === 'name'
            ? parseTagRef('name')
            : parseTagRef(`.${tag}`);
      const scoped =
        ref.kind === 'attr' ? { ...ref, scopes: ['span', 'resource', 'event', 'link'] as TagScope[] } : ref;
      const values = await tagValues(reader, ctx.org!.id, range, scoped, null);
      sendJson(ctx.res, 200, { tagValues: [...new Set(values.map((v) => v.value))].sort() });
    }),
    tagValuesV2: handle(async (ctx) => {
      const tag = ctx.params.tag ?? '';
      const ref = parseTagRef(tag);
      if (ref.kind === 'invalid') {
        throw new MoleError(
          `please provide a valid tagName: tag name is not valid intrinsic or scoped attribute: ${tag}`,
          {
            code: 'MS_ERR_BAD_TAG',
            status: 500,
            reason: 'bad_request',
          },
        );
      }
      const values = await tagValues(
        reader,
        ctx.org!.id,
        rangeOf(ctx.query),
        ref,
        parseSimpleQuery(ctx.query.get('q')),
      );
      sendJson(ctx.res, 200, {
        tagValues: values.map((v) => (v.value === '' && v.type === 'string' ? { type: v.type } : v)),
      });
    }),
  };
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
