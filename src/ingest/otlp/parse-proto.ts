/**
 * OTLP/protobuf logs and traces → ColumnBatch, hand-written against opentelemetry-proto v1.5
 * (collector/logs/v1 ExportLogsServiceRequest, collector/trace/v1 ExportTraceServiceRequest).
 * Pure: bytes in, columns out; no HTTP, no storage.
 *
 * Malformed protobuf rejects the whole request (400, MS_ERR_BAD_PROTOBUF). Well-formed records
 * that break a rule (an id of the wrong length, a span without ids) are refused one by one and
 * counted in `rejectedCount` for the OTLP partial-success answer.
 */
import {
  emptySpanFields,
  LogBatchBuilder,
  RESOURCE,
  SCOPE,
  SpanBatchBuilder,
  T_STR,
  type SpanFields,
} from './batch-builder.ts';
import { idProblem, isZeroBytes, objectJson, SPAN_ID_BYTES, TRACE_ID_BYTES } from './otlp-mapping.ts';
import { fields, ProtoValueDecoder, RECORD, tagOf, type FieldSpec } from './proto-values.ts';
import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../../lib/protobuf-reader.ts';
import type { ColumnBatch, SpanEvent, SpanLink } from '../../write/column-batch.ts';

const REQUEST_LOGS = fields({ 1: ['resource_logs', WIRE_LEN] });
const REQUEST_SPANS = fields({ 1: ['resource_spans', WIRE_LEN] });
const RESOURCE_GROUP = fields({
  1: ['resource', WIRE_LEN],
  2: ['scope', WIRE_LEN],
  3: ['schema_url', WIRE_LEN],
});
const SCOPE_GROUP = fields({
  1: ['scope', WIRE_LEN],
  2: ['records', WIRE_LEN],
  3: ['schema_url', WIRE_LEN],
});
const LOG_RECORD = fields({
  1: ['time_unix_nano', WIRE_I64],
  2: ['severity_number', WIRE_VARINT],
  3: ['severity_text', WIRE_LEN],
  5: ['body', WIRE_LEN],
  6: ['attributes', WIRE_LEN],
  7: ['dropped_attributes_count', WIRE_VARINT],
  8: ['flags', WIRE_I32],
  9: ['trace_id', WIRE_LEN],
  10: ['span_id', WIRE_LEN],
  11: ['observed_time_unix_nano', WIRE_I64],
  12: ['event_name', WIRE_LEN],
});
const SPAN = fields({
  1: ['trace_id', WIRE_LEN],
  2: ['span_id', WIRE_LEN],
  3: ['trace_state', WIRE_LEN],
  4: ['parent_span_id', WIRE_LEN],
  5: ['name', WIRE_LEN],
  6: ['kind', WIRE_VARINT],
  7: ['start_time_unix_nano', WIRE_I64],
  8: ['end_time_unix_nano', WIRE_I64],
  9: ['attributes', WIRE_LEN],
  10: ['dropped_attributes_count', WIRE_VARINT],
  11: ['events', WIRE_LEN],
  12: ['dropped_events_count', WIRE_VARINT],
  13: ['links', WIRE_LEN],
  14: ['dropped_links_count', WIRE_VARINT],
  15: ['status', WIRE_LEN],
  16: ['flags', WIRE_I32],
});
const EVENT = fields({
  1: ['time_unix_nano', WIRE_I64],
  2: ['name', WIRE_LEN],
  3: ['attributes', WIRE_LEN],
  4: ['dropped_attributes_count', WIRE_VARINT],
});
const LINK = fields({
  1: ['trace_id', WIRE_LEN],
  2: ['span_id', WIRE_LEN],
  3: ['trace_state', WIRE_LEN],
  4: ['attributes', WIRE_LEN],
  5: ['dropped_attributes_count', WIRE_VARINT],
  6: ['flags', WIRE_I32],
});
const STATUS = fields({ 2: ['message', WIRE_LEN], 3: ['code', WIRE_VARINT] });

const L1 = tagOf(1, WIRE_LEN);
const L2 = tagOf(2, WIRE_LEN);
const L3 = tagOf(3, WIRE_LEN);
const L4 = tagOf(4, WIRE_LEN);
const L5 = tagOf(5, WIRE_LEN);
const L6 = tagOf(6, WIRE_LEN);
const L9 = tagOf(9, WIRE_LEN);
const L10 = tagOf(10, WIRE_LEN);
const L11 = tagOf(11, WIRE_LEN);
const L12 = tagOf(12, WIRE_LEN);
const L13 = tagOf(13, WIRE_LEN);
const L15 = tagOf(15, WIRE_LEN);
const V2 = tagOf(2, WIRE_VARINT);
const V3 = tagOf(3, WIRE_VARINT);
const V4 = tagOf(4, WIRE_VARINT);
const V5 = tagOf(5, WIRE_VARINT);
const V6 = tagOf(6, WIRE_VARINT);
const V7 = tagOf(7, WIRE_VARINT);
const V10 = tagOf(10, WIRE_VARINT);
const V12 = tagOf(12, WIRE_VARINT);
const V14 = tagOf(14, WIRE_VARINT);
const F1 = tagOf(1, WIRE_I64);
const F7 = tagOf(7, WIRE_I64);
const F8 = tagOf(8, WIRE_I64);
const F11 = tagOf(11, WIRE_I64);
const I6 = tagOf(6, WIRE_I32);
const I8 = tagOf(8, WIRE_I32);
const I16 = tagOf(16, WIRE_I32);

/** Shared skeleton: request → resource groups → scope groups → records. */
abstract class ExportRequestDecoder<
  B extends LogBatchBuilder | SpanBatchBuilder,
> extends ProtoValueDecoder<B> {
  protected abstract readonly names: { resources: string; scopes: string; records: string };
  protected abstract readonly requestSpec: FieldSpec;
  protected abstract record(end: number): void;
  /** Indices of the record being decoded, for messages. */
  private resourceIndex = 0;
  private scopeIndex = 0;
  private recordIndex = 0;

  decode(): ColumnBatch {
    const r = this.r;
    const end = r.buf.length;
    let i = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) {
        this.resourceIndex = i++;
        this.resourceGroup(r.lengthDelimited(end));
      } else this.other(tag, end, this.requestSpec);
    }
    return this.out.finish();
  }

  private resourceGroup(end: number): void {
    const r = this.r;
    this.out.beginGroup(RESOURCE);
    let i = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) this.resource(r.lengthDelimited(end));
      else if (tag === L2) {
        this.scopeIndex = i++;
        this.scopeGroup(r.lengthDelimited(end));
      } else if (tag === L3) r.pos = r.lengthDelimited(end);
      else this.other(tag, end, RESOURCE_GROUP);
    }
    this.out.endGroup(RESOURCE);
  }

  private scopeGroup(end: number): void {
    const r = this.r;
    this.out.beginGroup(SCOPE);
    this.scopeName = '';
    this.scopeVersion = '';
    let i = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L2) {
        this.recordIndex = i++;
        this.record(r.lengthDelimited(end));
      } else if (tag === L1) this.scope(r.lengthDelimited(end));
      else if (tag === L3) r.pos = r.lengthDelimited(end);
      else this.other(tag, end, SCOPE_GROUP);
    }
    this.out.endScope(this.scopeName, this.scopeVersion);
  }

  /** Where the record being decoded is, in OTLP/JSON terms (the JSON decoder says the same). */
  protected recordPath(): string {
    const { resources, scopes, records } = this.names;
    return `${resources}[${this.resourceIndex}].${scopes}[${this.scopeIndex}].${records}[${this.recordIndex}]`;
  }

  /**
   * An id field as lowercase hex, '' when absent (or all zero where allowed); on a bad id the
   * record is rejected and this returns null. `field` is relative to the record (`links[0].spanId`).
   */
  protected id(start: number, end: number, bytes: number, required: boolean, field: string): string | null {
    const zero = isZeroBytes(this.r.buf, start, end);
    const length = end - start;
    if (length !== bytes || (zero && required)) {
      const problem = idProblem(`${this.recordPath()}.${field}`, length, bytes, zero, required);
      if (problem !== '') {
        this.out.reject(problem);
        return null;
      }
    }
    return length === 0 || zero ? '' : this.hex(start, end);
  }
}

class LogsDecoder extends ExportRequestDecoder<LogBatchBuilder> {
  protected readonly names = { resources: 'resourceLogs', scopes: 'scopeLogs', records: 'logRecords' };
  protected readonly requestSpec = REQUEST_LOGS;
  private readonly nowNs: bigint;

  constructor(body: Uint8Array, nowNs: bigint) {
    super(body, new LogBatchBuilder());
    this.nowNs = nowNs;
  }

  protected record(end: number): void {
    const r = this.r;
    const out = this.out;
    out.beginRecord();
    let time = 0n;
    let observed = 0n;
    let severityNumber = 0;
    let severityText = '';
    let body: string | null = null;
    let traceStart = 0;
    let traceEnd = 0;
    let spanStart = 0;
    let spanEnd = 0;
    let flags = 0;
    let eventName = '';
    let dropped = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case F1:
          time = r.fixed64(end);
          break;
        case V2:
          severityNumber = r.int32(end);
          break;
        case L3:
          severityText = this.readString(end);
          break;
        case L5: {
          const e = r.lengthDelimited(end);
          // A string body stays as is; any other value becomes JSON text; empty → null.
          body = this.anyValue(e, 0)
            ? this.valueType === T_STR
              ? (this.value as string)
              : this.valueJson()
            : null;
          break;
        }
        case L6:
          this.attribute(r.lengthDelimited(end), RECORD);
          break;
        case V7:
          dropped = r.uint32(end);
          break;
        case I8:
          flags = r.fixed32(end);
          break;
        case L9:
          traceEnd = r.lengthDelimited(end);
          traceStart = r.pos;
          r.pos = traceEnd;
          break;
        case L10:
          spanEnd = r.lengthDelimited(end);
          spanStart = r.pos;
          r.pos = spanEnd;
          break;
        case F11:
          observed = r.fixed64(end);
          break;
        case L12:
          eventName = this.readString(end);
          break;
        default:
          this.other(tag, end, LOG_RECORD);
      }
    }
    const traceId = this.id(traceStart, traceEnd, TRACE_ID_BYTES, false, 'traceId');
    if (traceId === null) return;
    const spanId = this.id(spanStart, spanEnd, SPAN_ID_BYTES, false, 'spanId');
    if (spanId === null) return;
    out.emit(
      time,
      observed,
      this.nowNs,
      severityNumber,
      severityText,
      body,
      traceId === '' ? null : traceId,
      spanId === '' ? null : spanId,
      flags === 0 ? 0n : BigInt(flags),
      eventName,
      dropped,
    );
  }
}

class TracesDecoder extends ExportRequestDecoder<SpanBatchBuilder> {
  protected readonly names = { resources: 'resourceSpans', scopes: 'scopeSpans', records: 'spans' };
  protected readonly requestSpec = REQUEST_SPANS;

  constructor(body: Uint8Array) {
    super(body, new SpanBatchBuilder());
  }

  protected record(end: number): void {
    const r = this.r;
    this.out.beginRecord();
    const s = emptySpanFields();
    let traceStart = 0;
    let traceEnd = 0;
    let spanStart = 0;
    let spanEnd = 0;
    let parentStart = 0;
    let parentEnd = 0;
    const linkIds: number[] = [];
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case L1:
          traceEnd = r.lengthDelimited(end);
          traceStart = r.pos;
          r.pos = traceEnd;
          break;
        case L2:
          spanEnd = r.lengthDelimited(end);
          spanStart = r.pos;
          r.pos = spanEnd;
          break;
        case L3:
          s.traceState = this.readString(end);
          break;
        case L4:
          parentEnd = r.lengthDelimited(end);
          parentStart = r.pos;
          r.pos = parentEnd;
          break;
        case L5:
          s.name = this.readString(end);
          break;
        case V6:
          s.kind = r.int32(end);
          break;
        case F7:
          s.startNs = r.fixed64(end);
          break;
        case F8:
          s.endNs = r.fixed64(end);
          break;
        case L9:
          this.attribute(r.lengthDelimited(end), RECORD);
          break;
        case V10:
          s.droppedAttributes = r.uint32(end);
          break;
        case L11:
          s.events.push(this.event(r.lengthDelimited(end)));
          break;
        case V12:
          s.droppedEvents = r.uint32(end);
          break;
        case L13:
          s.links.push(this.link(r.lengthDelimited(end), linkIds));
          break;
        case V14:
          s.droppedLinks = r.uint32(end);
          break;
        case L15:
          this.status(r.lengthDelimited(end), s);
          break;
        case I16:
          s.flags = BigInt(r.fixed32(end));
          break;
        default:
          this.other(tag, end, SPAN);
      }
    }
    if (this.ids(s, traceStart, traceEnd, spanStart, spanEnd, parentStart, parentEnd, linkIds))
      this.out.emit(s);
  }

  /** Checks and sets the span's ids, in a fixed order so both encodings report the same problem. */
  private ids(
    s: SpanFields,
    traceStart: number,
    traceEnd: number,
    spanStart: number,
    spanEnd: number,
    parentStart: number,
    parentEnd: number,
    linkIds: number[],
  ): boolean {
    const traceId = this.id(traceStart, traceEnd, TRACE_ID_BYTES, true, 'traceId');
    if (traceId === null) return false;
    const spanId = this.id(spanStart, spanEnd, SPAN_ID_BYTES, true, 'spanId');
    if (spanId === null) return false;
    const parentSpanId = this.id(parentStart, parentEnd, SPAN_ID_BYTES, false, 'parentSpanId');
    if (parentSpanId === null) return false;
    s.traceId = traceId;
    s.spanId = spanId;
    s.parentSpanId = parentSpanId;
    for (let i = 0; i < s.links.length; i++) {
      const link = s.links[i]!;
      const base = i * 4;
      const lt = this.id(linkIds[base]!, linkIds[base + 1]!, TRACE_ID_BYTES, true, `links[${i}].traceId`);
      if (lt === null) return false;
      const ls = this.id(linkIds[base + 2]!, linkIds[base + 3]!, SPAN_ID_BYTES, true, `links[${i}].spanId`);
      if (ls === null) return false;
      link.trace_id = lt;
      link.span_id = ls;
    }
    return true;
  }

  private event(end: number): SpanEvent {
    const r = this.r;
    const ev: SpanEvent = { time_unix_nano: 0n, name: '', attributes: '{}', dropped_attributes_count: 0 };
    const keys: string[] = [];
    const values: string[] = [];
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === F1) ev.time_unix_nano = r.fixed64(end);
      else if (tag === L2) ev.name = this.readString(end);
      else if (tag === L3) this.keyValue(r.lengthDelimited(end), 0, keys, values, false);
      else if (tag === V4) ev.dropped_attributes_count = r.uint32(end);
      else this.other(tag, end, EVENT);
    }
    ev.attributes = objectJson(keys, values);
    return ev;
  }

  /** A link; its id slices are appended to `linkIds` (4 offsets per link) for `ids` to check. */
  private link(end: number, linkIds: number[]): SpanLink {
    const r = this.r;
    const link: SpanLink = {
      trace_id: '',
      span_id: '',
      trace_state: '',
      attributes: '{}',
      flags: 0n,
      dropped_attributes_count: 0,
    };
    const keys: string[] = [];
    const values: string[] = [];
    let traceStart = 0;
    let traceEnd = 0;
    let spanStart = 0;
    let spanEnd = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case L1:
          traceEnd = r.lengthDelimited(end);
          traceStart = r.pos;
          r.pos = traceEnd;
          break;
        case L2:
          spanEnd = r.lengthDelimited(end);
          spanStart = r.pos;
          r.pos = spanEnd;
          break;
        case L3:
          link.trace_state = this.readString(end);
          break;
        case L4:
          this.keyValue(r.lengthDelimited(end), 0, keys, values, false);
          break;
        case V5:
          link.dropped_attributes_count = r.uint32(end);
          break;
        case I6:
          link.flags = BigInt(r.fixed32(end));
          break;
        default:
          this.other(tag, end, LINK);
      }
    }
    link.attributes = objectJson(keys, values);
    linkIds.push(traceStart, traceEnd, spanStart, spanEnd);
    return link;
  }

  private status(end: number, s: SpanFields): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L2) s.statusMessage = this.readString(end);
      else if (tag === V3) s.statusCode = r.int32(end);
      else this.other(tag, end, STATUS);
    }
  }
}

/** Decodes an OTLP/protobuf ExportLogsServiceRequest. `nowNs` stands in for missing timestamps. */
export function decodeLogsProto(body: Uint8Array, nowNs: bigint): ColumnBatch {
  return new LogsDecoder(body, nowNs).decode();
}

/** Decodes an OTLP/protobuf ExportTraceServiceRequest. `nowNs` is unused: spans carry their times. */
export function decodeTracesProto(body: Uint8Array, _nowNs: bigint): ColumnBatch {
  return new TracesDecoder(body).decode();
}
