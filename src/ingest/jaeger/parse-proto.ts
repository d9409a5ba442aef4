/**
 * Jaeger protobuf → ColumnBatch: `jaeger.api_v2.PostSpansRequest { Batch batch = 1 }` as
 * `CollectorService/PostSpans` carries it over gRPC (format `jaeger-proto`). Hand-written against
 * Jaeger's published model.proto and collector.proto (github.com/jaegertracing/jaeger-idl,
 * proto/api_v2); gogoproto options do not change the wire format. Pure; malformed protobuf and
 * invalid spans refuse the whole request (400 → INVALID_ARGUMENT).
 */
import { ProtoFieldDecoder } from '../proto-fields.ts';
import { SpanBatchBuilder } from '../otlp/batch-builder.ts';
import { tagOf } from '../otlp/proto-values.ts';
import {
  malformedProtobuf,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
} from '../../lib/protobuf-reader.ts';
import type { ColumnBatch, FieldValue } from '../../write/column-batch.ts';
import { badSpan, ForeignSpanMapper } from '../foreign-span.ts';
import {
  emptyJaegerSpan,
  mapJaegerSpans,
  PROTO_VALUE_TYPES,
  type JaegerProcess,
  type JaegerRef,
  type JaegerSpan,
  type JaegerTag,
} from './jaeger-span.ts';

const L1 = tagOf(1, WIRE_LEN);
const L2 = tagOf(2, WIRE_LEN);
const L3 = tagOf(3, WIRE_LEN);
const L4 = tagOf(4, WIRE_LEN);
const L6 = tagOf(6, WIRE_LEN);
const L7 = tagOf(7, WIRE_LEN);
const L8 = tagOf(8, WIRE_LEN);
const L9 = tagOf(9, WIRE_LEN);
const L10 = tagOf(10, WIRE_LEN);
const V1 = tagOf(1, WIRE_VARINT);
const V2 = tagOf(2, WIRE_VARINT);
const V3 = tagOf(3, WIRE_VARINT);
const V4 = tagOf(4, WIRE_VARINT);
const V5 = tagOf(5, WIRE_VARINT);
const F6 = tagOf(6, WIRE_I64);

class JaegerProtoDecoder extends ProtoFieldDecoder {
  /** google.protobuf.Timestamp / Duration {seconds int64 = 1; nanos int32 = 2} → ns. */
  private nanos(end: number, field: string): bigint {
    const r = this.r;
    let seconds = 0n;
    let nanos = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === V1) seconds = r.int64(end);
      else if (tag === V2) nanos = r.int32(end);
      else r.skip(tag, end);
    }
    if (seconds < 0n || nanos < 0 || nanos > 999_999_999 || seconds > 9_223_372_035n) {
      throw badSpan(`${field}: ${seconds} s + ${nanos} ns is out of range`);
    }
    return seconds * 1_000_000_000n + BigInt(nanos);
  }

  decode(): ColumnBatch {
    const r = this.r;
    const end = r.buf.length;
    const out = new SpanBatchBuilder();
    const m = new ForeignSpanMapper(out);
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) this.batch(m, r.lengthDelimited(end));
      else r.skip(tag, end);
    }
    return out.finish();
  }

  private batch(m: ForeignSpanMapper, end: number): void {
    const r = this.r;
    const spans: JaegerSpan[] = [];
    let proc: JaegerProcess | null = null;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) spans.push(this.span(r.lengthDelimited(end), `batch.spans[${spans.length}]`));
      else if (tag === L2) proc = this.process(r.lengthDelimited(end));
      else r.skip(tag, end);
    }
    mapJaegerSpans(m, proc, spans, 'batch.');
  }

  private span(end: number, path: string): JaegerSpan {
    const r = this.r;
    const j = emptyJaegerSpan();
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case L1:
          j.traceId = this.id(end, [16], `${path}.trace_id`);
          break;
        case L2:
          j.spanId = this.id(end, [8], `${path}.span_id`);
          break;
        case L3:
          j.name = this.string(end);
          break;
        case L4:
          j.refs.push(this.ref(r.lengthDelimited(end), path));
          break;
        case V5:
          j.flags = r.uint32(end);
          break;
        case L6:
          j.startNs = this.nanos(r.lengthDelimited(end), `${path}.start_time`);
          break;
        case L7:
          j.durationNs = this.nanos(r.lengthDelimited(end), `${path}.duration`);
          break;
        case L8:
          j.tags.push(this.keyValue(r.lengthDelimited(end)));
          break;
        case L9:
          j.logs.push(this.log(r.lengthDelimited(end), path));
          break;
        case L10:
          j.process = this.process(r.lengthDelimited(end));
          break;
        default:
          r.skip(tag, end);
      }
    }
    return j;
  }

  private ref(end: number, path: string): JaegerRef {
    const r = this.r;
    const ref: JaegerRef = { type: 0, traceId: '', spanId: '' };
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) ref.traceId = this.id(end, [16], `${path}.references.trace_id`);
      else if (tag === L2) ref.spanId = this.id(end, [8], `${path}.references.span_id`);
      else if (tag === V3) ref.type = r.int32(end);
      else r.skip(tag, end);
    }
    return ref;
  }

  private log(end: number, path: string): { timeNs: bigint; fields: JaegerTag[] } {
    const r = this.r;
    const log = { timeNs: 0n, fields: [] as JaegerTag[] };
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) log.timeNs = this.nanos(r.lengthDelimited(end), `${path}.logs.timestamp`);
      else if (tag === L2) log.fields.push(this.keyValue(r.lengthDelimited(end)));
      else r.skip(tag, end);
    }
    return log;
  }

  private process(end: number): JaegerProcess {
    const r = this.r;
    const p: JaegerProcess = { serviceName: '', tags: [] };
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) p.serviceName = this.string(end);
      else if (tag === L2) p.tags.push(this.keyValue(r.lengthDelimited(end)));
      else r.skip(tag, end);
    }
    return p;
  }

  /** KeyValue {key 1, v_type 2, v_str 3, v_bool 4, v_int64 5, v_float64 6, v_binary 7}. */
  private keyValue(end: number): JaegerTag {
    const r = this.r;
    let key = '';
    let vType = 0;
    const values: FieldValue[] = ['', false, 0n, 0, new Uint8Array(0)];
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) key = this.string(end);
      else if (tag === V2) vType = r.int32(end);
      else if (tag === L3) values[0] = this.string(end);
      else if (tag === V4) values[1] = r.bool(end);
      else if (tag === V5) values[2] = r.int64(end);
      else if (tag === F6) values[3] = r.double(end);
      else if (tag === L7) {
        const [s, e] = this.slice(end);
        values[4] = r.buf.slice(s, e);
      } else r.skip(tag, end);
    }
    const type = PROTO_VALUE_TYPES[vType];
    if (type === undefined)
      throw malformedProtobuf(`KeyValue "${key.slice(0, 60)}" has unknown v_type ${vType}`);
    return { key, type, value: values[vType]! };
  }
}

export function decodeJaegerProto(body: Uint8Array): ColumnBatch {
  return new JaegerProtoDecoder(body).decode();
}
