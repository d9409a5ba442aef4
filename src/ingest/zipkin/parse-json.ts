/**
 * Zipkin v2 JSON (`POST /api/v2/spans`, a JSON array of spans; format `zipkin-json`) →
 * ColumnBatch. Pure. Anything that is not the documented shape (a non-array body, a field of the
 * wrong type, an id that is not hex) refuses the whole request with 400 and the span's index.
 * Spec: https://zipkin.io/zipkin-api/#/default/post_spans
 */
import { SpanBatchBuilder } from '../otlp/batch-builder.ts';
import { badJson, parseJson } from '../otlp/json-values.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { ForeignSpanMapper } from '../foreign-span.ts';
import { mapZipkinSpan, ZIPKIN_KINDS, type ZipkinEndpoint, type ZipkinSpan } from './zipkin-span.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw badJson(`${path}.${key}: expected a string, got ${typeof v}`);
  return v;
}

function micros(o: Obj, key: string, path: string): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number')
    throw badJson(`${path}.${key}: expected a number of microseconds, got ${typeof v}`);
  return v;
}

function endpoint(o: Obj, key: string, path: string): ZipkinEndpoint | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!isObj(v)) throw badJson(`${path}.${key}: expected an object`);
  const p = `${path}.${key}`;
  const port = v.port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw badJson(`${p}.port: expected a port number`);
  }
  return { serviceName: str(v, 'serviceName', p), ipv4: str(v, 'ipv4', p), ipv6: str(v, 'ipv6', p), port };
}

function span(v: unknown, path: string): ZipkinSpan {
  if (!isObj(v)) throw badJson(`${path}: expected a span object`);
  const kindName = str(v, 'kind', path);
  const kind = kindName === '' ? 0 : ZIPKIN_KINDS[kindName];
  if (kind === undefined) {
    throw badJson(
      `${path}.kind: ${JSON.stringify(kindName.slice(0, 40))} is not CLIENT, SERVER, PRODUCER or CONSUMER`,
    );
  }
  const tags: [string, string][] = [];
  if (v.tags !== undefined && v.tags !== null) {
    if (!isObj(v.tags)) throw badJson(`${path}.tags: expected an object of strings`);
    for (const [key, value] of Object.entries(v.tags)) {
      if (typeof value !== 'string')
        throw badJson(`${path}.tags.${key}: expected a string, got ${typeof value}`);
      tags.push([key, value]);
    }
  }
  const annotations: ZipkinSpan['annotations'] = [];
  if (v.annotations !== undefined && v.annotations !== null) {
    if (!Array.isArray(v.annotations)) throw badJson(`${path}.annotations: expected an array`);
    v.annotations.forEach((a: unknown, i) => {
      const p = `${path}.annotations[${i}]`;
      if (!isObj(a)) throw badJson(`${p}: expected an object`);
      const timestampUs = micros(a, 'timestamp', p);
      if (timestampUs === null) throw badJson(`${p}.timestamp: missing`);
      annotations.push({ timestampUs, value: str(a, 'value', p) });
    });
  }
  return {
    traceId: str(v, 'traceId', path),
    id: str(v, 'id', path),
    parentId: str(v, 'parentId', path),
    kind,
    name: str(v, 'name', path),
    timestampUs: micros(v, 'timestamp', path),
    durationUs: micros(v, 'duration', path) ?? 0,
    local: endpoint(v, 'localEndpoint', path),
    remote: endpoint(v, 'remoteEndpoint', path),
    annotations,
    tags,
  };
}

export function decodeZipkinJson(text: string, nowNs: bigint): ColumnBatch {
  const doc = parseJson(text);
  if (!Array.isArray(doc)) throw badJson('a Zipkin v2 JSON body is an array of spans: [{"traceId": …}, …]');
  const out = new SpanBatchBuilder();
  const m = new ForeignSpanMapper(out);
  doc.forEach((v: unknown, i) => mapZipkinSpan(m, span(v, `[${i}]`), `[${i}]`, nowNs));
  return out.finish();
}
