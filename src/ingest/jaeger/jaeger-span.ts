/**
 * Jaeger spans (Thrift `jaeger.thrift` and protobuf `jaeger.api_v2`), as both decoders read them,
 * and their mapping to the OTLP span model, following the OpenTelemetry Collector's Jaeger receiver:
 *
 * - trace id: `traceIdHigh`/`traceIdLow` (Thrift) or 16 bytes (protobuf) → 32 hex digits; span ids → 16.
 * - `process.serviceName` → `resource.service.name`; process tags → `resource.<key>` (typed);
 *   in protobuf a span's own `process` wins over the batch's.
 * - span tags → `attr.<key>` with their type (string, double → float, bool, long → int, binary →
 *   bytes), after the conventions of foreign-span.ts (`span.kind` gives the kind, `error` and
 *   `otel.status_code` the status, …).
 * - `parentSpanId`, else the first CHILD_OF reference in the same trace → `parent_span_id`; every
 *   other reference → a link with attribute `opentracing.ref_type` = `child_of` / `follows_from`.
 * - `startTime`/`duration` µs (Thrift) or Timestamp/Duration (protobuf) → ns.
 * - logs → events: the `event` field is the event name, the other fields its attributes.
 * - `flags` (1 = sampled, 2 = debug) → `flags` as sent.
 */
import { objectJson, doubleJson } from '../otlp/otlp-mapping.ts';
import { T_BOOL, T_BYTES, T_FLOAT, T_INT, T_JSON, T_STR, type TypeId } from '../otlp/batch-builder.ts';
import { badSpan, type ForeignSpanMapper } from '../foreign-span.ts';
import type { FieldValue, SpanLink } from '../../write/column-batch.ts';

export interface JaegerTag {
  key: string;
  type: TypeId;
  value: FieldValue;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerTag[];
}

export interface JaegerRef {
  /** 0 CHILD_OF, 1 FOLLOWS_FROM */
  type: number;
  traceId: string;
  spanId: string;
}

export interface JaegerSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  refs: JaegerRef[];
  flags: number;
  startNs: bigint;
  durationNs: bigint;
  tags: JaegerTag[];
  logs: { timeNs: bigint; fields: JaegerTag[] }[];
  process: JaegerProcess | null;
}

export const emptyJaegerSpan = (): JaegerSpan => ({
  traceId: '',
  spanId: '',
  parentSpanId: '',
  name: '',
  refs: [],
  flags: 0,
  startNs: 0n,
  durationNs: 0n,
  tags: [],
  logs: [],
  process: null,
});

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const MAX_NS = (1n << 63n) - 1n;

function valueJson(t: JaegerTag): string {
  switch (t.type) {
    case T_STR:
      return JSON.stringify(t.value);
    case T_INT:
      return String(t.value);
    case T_FLOAT:
      return doubleJson(t.value as number);
    case T_BOOL:
      return t.value ? 'true' : 'false';
    case T_JSON:
      return t.value as string;
    case T_BYTES:
      return JSON.stringify(Buffer.from(t.value as Uint8Array).toString('base64'));
  }
}

const REF_TYPES = ['child_of', 'follows_from'];

/** Maps the spans of one batch; `path` names the batch in messages. */
export function mapJaegerSpans(
  m: ForeignSpanMapper,
  batchProcess: JaegerProcess | null,
  spans: readonly JaegerSpan[],
  path: string,
): void {
  spans.forEach((j, i) => {
    const where = `${path}spans[${i}]`;
    if (j.traceId === ZERO_TRACE || j.traceId === '')
      throw badSpan(`${where}: the trace id is zero or missing`);
    if (j.spanId === ZERO_SPAN || j.spanId === '') throw badSpan(`${where}: the span id is zero or missing`);
    if (j.startNs < 0n || j.durationNs < 0n || j.startNs + j.durationNs > MAX_NS) {
      throw badSpan(`${where}: start ${j.startNs} ns + duration ${j.durationNs} ns is out of range`);
    }
    const s = m.begin();
    s.traceId = j.traceId;
    s.spanId = j.spanId;
    s.name = j.name;
    s.startNs = j.startNs;
    s.endNs = j.startNs + j.durationNs;
    s.flags = BigInt(j.flags >>> 0);
    let parent = j.parentSpanId === ZERO_SPAN ? '' : j.parentSpanId;
    for (const ref of j.refs) {
      const isParent = ref.type === 0 && ref.traceId === j.traceId;
      if (isParent && (parent === '' || parent === ref.spanId)) {
        parent = ref.spanId;
        continue;
      }
      const link: SpanLink = {
        trace_id: ref.traceId,
        span_id: ref.spanId,
        trace_state: '',
        attributes: objectJson(['opentracing.ref_type'], [JSON.stringify(REF_TYPES[ref.type] ?? 'child_of')]),
        flags: 0n,
        dropped_attributes_count: 0,
      };
      s.links.push(link);
    }
    s.parentSpanId = parent;
    const process = j.process ?? batchProcess;
    if (process) {
      for (const t of process.tags) m.resourceAttr(t.key, t.type, t.value);
      if (process.serviceName !== '') m.resourceAttr('service.name', T_STR, process.serviceName);
    }
    for (const t of j.tags) m.tag(t.key, t.type, t.value);
    for (const log of j.logs) {
      let name = '';
      const keys: string[] = [];
      const values: string[] = [];
      for (const f of log.fields) {
        if (f.key === 'event' && f.type === T_STR) name = f.value as string;
        else {
          keys.push(f.key);
          values.push(valueJson(f));
        }
      }
      m.event({
        time_unix_nano: log.timeNs,
        name,
        attributes: objectJson(keys, values),
        dropped_attributes_count: 0,
      });
    }
    m.end(0);
  });
}

/** A Jaeger tag type (Thrift TagType / proto ValueType differ only in order) → our type. */
export const THRIFT_TAG_TYPES: readonly TypeId[] = [T_STR, T_FLOAT, T_BOOL, T_INT, T_BYTES];
export const PROTO_VALUE_TYPES: readonly TypeId[] = [T_STR, T_BOOL, T_INT, T_FLOAT, T_BYTES];
