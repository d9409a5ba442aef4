/**
 * OTLP/JSON logs and traces → ColumnBatch (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
 * Pure: text in, columns out. Produces exactly the batch parse-proto.ts produces for the same
 * data: both drive the same builder with the same calls (see batch-builder.ts).
 *
 * Malformed JSON or a wrong shape rejects the whole request (400, MS_ERR_BAD_JSON, naming the
 * JSON path). Records that break a rule protobuf can also express (an id of the wrong length, a
 * span without ids) are refused one by one, with the same message protobuf gives.
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
import { JsonValueDecoder, parseJson, RECORD, type Json } from './json-values.ts';
import { SPAN_ID_BYTES, TRACE_ID_BYTES } from './otlp-mapping.ts';
import type { ColumnBatch, SpanEvent, SpanLink } from '../../write/column-batch.ts';

const SEVERITY_NAMES: ReadonlyMap<string, number> = new Map(
  [
    'UNSPECIFIED',
    'TRACE',
    'TRACE2',
    'TRACE3',
    'TRACE4',
    'DEBUG',
    'DEBUG2',
    'DEBUG3',
    'DEBUG4',
    'INFO',
    'INFO2',
  ]
    .concat(['INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4'])
    .concat(['FATAL', 'FATAL2', 'FATAL3', 'FATAL4'])
    .map((name, i) => [`SEVERITY_NUMBER_${name}`, i]),
);
const SPAN_KIND_NAMES: ReadonlyMap<string, number> = new Map(
  ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'].map((name, i) => [
    `SPAN_KIND_${name}`,
    i,
  ]),
);
const STATUS_CODE_NAMES: ReadonlyMap<string, number> = new Map(
  ['UNSET', 'OK', 'ERROR'].map((name, i) => [`STATUS_CODE_${name}`, i]),
);

interface Names {
  resources: string;
  resourcesSnake: string;
  scopes: string;
  scopesSnake: string;
  records: string;
  recordsSnake: string;
}

abstract class ExportRequestDecoder<
  B extends LogBatchBuilder | SpanBatchBuilder,
> extends JsonValueDecoder<B> {
  protected abstract readonly names: Names;
  protected abstract record(v: Json): void;
  private resourceIndex = 0;
  private scopeIndex = 0;
  private recordIndex = 0;

  /** Where the record being decoded is; the protobuf decoder says the same. */
  protected override recordPath(): string {
    const { resources, scopes, records } = this.names;
    return `${resources}[${this.resourceIndex}].${scopes}[${this.scopeIndex}].${records}[${this.recordIndex}]`;
  }

  decode(text: string): ColumnBatch {
    const root = this.object(parseJson(text));
    const { resources, resourcesSnake } = this.names;
    const list = this.array(root[resources] ?? root[resourcesSnake], resources);
    this.enter(resources);
    for (let i = 0; i < list.length; i++) {
      this.enter(i);
      this.resourceIndex = i;
      this.resourceGroup(list[i]);
      this.leave();
    }
    this.leave();
    return this.out.finish();
  }

  private resourceGroup(v: Json): void {
    const o = this.object(v);
    const { scopes, scopesSnake } = this.names;
    this.out.beginGroup(RESOURCE);
    for (const k in o) {
      if (k === 'resource') {
        if (o[k] !== null) this.resource(o[k]);
      } else if (k === scopes || k === scopesSnake) {
        const list = this.array(o[k], scopes);
        this.enter(scopes);
        for (let i = 0; i < list.length; i++) {
          this.enter(i);
          this.scopeIndex = i;
          this.scopeGroup(list[i]);
          this.leave();
        }
        this.leave();
      }
    }
    this.out.endGroup(RESOURCE);
  }

  private scopeGroup(v: Json): void {
    const o = this.object(v);
    const { records, recordsSnake } = this.names;
    this.out.beginGroup(SCOPE);
    this.scopeName = '';
    this.scopeVersion = '';
    for (const k in o) {
      if (k === 'scope') {
        if (o[k] !== null) this.scope(o[k]);
      } else if (k === records || k === recordsSnake) {
        const list = this.array(o[k], records);
        this.enter(records);
        for (let i = 0; i < list.length; i++) {
          this.enter(i);
          this.recordIndex = i;
          this.record(list[i]);
          this.leave();
        }
        this.leave();
      }
    }
    this.out.endScope(this.scopeName, this.scopeVersion);
  }
}

class LogsDecoder extends ExportRequestDecoder<LogBatchBuilder> {
  protected readonly names: Names = {
    resources: 'resourceLogs',
    resourcesSnake: 'resource_logs',
    scopes: 'scopeLogs',
    scopesSnake: 'scope_logs',
    records: 'logRecords',
    recordsSnake: 'log_records',
  };
  private readonly nowNs: bigint;

  constructor(nowNs: bigint) {
    super(new LogBatchBuilder());
    this.nowNs = nowNs;
  }

  protected record(v: Json): void {
    const o = this.object(v);
    this.out.beginRecord();
    let time = 0n;
    let observed = 0n;
    let severityNumber = 0;
    let severityText = '';
    let body: string | null = null;
    let traceId: Json = undefined;
    let spanId: Json = undefined;
    let flags = 0;
    let eventName = '';
    let dropped = 0;
    for (const k in o) {
      const x = o[k];
      switch (k) {
        case 'timeUnixNano':
        case 'time_unix_nano':
          time = this.u64(x, 'timeUnixNano');
          break;
        case 'observedTimeUnixNano':
        case 'observed_time_unix_nano':
          observed = this.u64(x, 'observedTimeUnixNano');
          break;
        case 'severityNumber':
        case 'severity_number':
          severityNumber = this.enumValue(x, 'severityNumber', SEVERITY_NAMES);
          break;
        case 'severityText':
        case 'severity_text':
          severityText = this.string(x, 'severityText');
          break;
        case 'body':
          body =
            x === undefined || x === null || !this.anyValue(x, 'body', 0)
              ? null
              : this.valueType === T_STR
                ? (this.value as string)
                : this.valueJson();
          break;
        case 'attributes':
          this.attributes(x, 'attributes', RECORD);
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          dropped = this.u32(x, 'droppedAttributesCount');
          break;
        case 'flags':
          flags = this.u32(x, 'flags');
          break;
        case 'traceId':
        case 'trace_id':
          traceId = x;
          break;
        case 'spanId':
        case 'span_id':
          spanId = x;
          break;
        case 'eventName':
        case 'event_name':
          eventName = this.string(x, 'eventName');
          break;
      }
    }
    const trace = this.id(traceId, 'traceId', TRACE_ID_BYTES, false, '');
    if (trace === null) return;
    const span = this.id(spanId, 'spanId', SPAN_ID_BYTES, false, '');
    if (span === null) return;
    this.out.emit(
      time,
      observed,
      this.nowNs,
      severityNumber,
      severityText,
      body,
      trace === '' ? null : trace,
      span === '' ? null : span,
      flags === 0 ? 0n : BigInt(flags),
      eventName,
      dropped,
    );
  }
}

class TracesDecoder extends ExportRequestDecoder<SpanBatchBuilder> {
  protected readonly names: Names = {
    resources: 'resourceSpans',
    resourcesSnake: 'resource_spans',
    scopes: 'scopeSpans',
    scopesSnake: 'scope_spans',
    records: 'spans',
    recordsSnake: 'spans',
  };

  constructor() {
    super(new SpanBatchBuilder());
  }

  protected record(v: Json): void {
    const o = this.object(v);
    this.out.beginRecord();
    const s = emptySpanFields();
    let traceId: Json = undefined;
    let spanId: Json = undefined;
    let parentSpanId: Json = undefined;
    const linkIds: Json[] = [];
    for (const k in o) {
      const x = o[k];
      switch (k) {
        case 'traceId':
        case 'trace_id':
          traceId = x;
          break;
        case 'spanId':
        case 'span_id':
          spanId = x;
          break;
        case 'parentSpanId':
        case 'parent_span_id':
          parentSpanId = x;
          break;
        case 'traceState':
        case 'trace_state':
          s.traceState = this.string(x, 'traceState');
          break;
        case 'name':
          s.name = this.string(x, 'name');
          break;
        case 'kind':
          s.kind = this.enumValue(x, 'kind', SPAN_KIND_NAMES);
          break;
        case 'startTimeUnixNano':
        case 'start_time_unix_nano':
          s.startNs = this.u64(x, 'startTimeUnixNano');
          break;
        case 'endTimeUnixNano':
        case 'end_time_unix_nano':
          s.endNs = this.u64(x, 'endTimeUnixNano');
          break;
        case 'attributes':
          this.attributes(x, 'attributes', RECORD);
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          s.droppedAttributes = this.u32(x, 'droppedAttributesCount');
          break;
        case 'events':
          this.events(x, s);
          break;
        case 'droppedEventsCount':
        case 'dropped_events_count':
          s.droppedEvents = this.u32(x, 'droppedEventsCount');
          break;
        case 'links':
          this.links(x, s, linkIds);
          break;
        case 'droppedLinksCount':
        case 'dropped_links_count':
          s.droppedLinks = this.u32(x, 'droppedLinksCount');
          break;
        case 'status':
          if (x !== null) this.status(x, s);
          break;
        case 'flags':
          s.flags = BigInt(this.u32(x, 'flags'));
          break;
      }
    }
    if (this.ids(s, traceId, spanId, parentSpanId, linkIds)) this.out.emit(s);
  }

  /** Same checks, same order as parse-proto.ts, so both report the same problem. */
  private ids(s: SpanFields, traceId: Json, spanId: Json, parentSpanId: Json, linkIds: Json[]): boolean {
    const trace = this.id(traceId, 'traceId', TRACE_ID_BYTES, true, '');
    if (trace === null) return false;
    const span = this.id(spanId, 'spanId', SPAN_ID_BYTES, true, '');
    if (span === null) return false;
    const parent = this.id(parentSpanId, 'parentSpanId', SPAN_ID_BYTES, false, '');
    if (parent === null) return false;
    s.traceId = trace;
    s.spanId = span;
    s.parentSpanId = parent;
    for (let i = 0; i < s.links.length; i++) {
      const link = s.links[i]!;
      this.enter('links');
      this.enter(i);
      const linkPrefix = `links[${i}].`;
      const lt = this.id(linkIds[2 * i], 'traceId', TRACE_ID_BYTES, true, linkPrefix);
      const ls = lt === null ? null : this.id(linkIds[2 * i + 1], 'spanId', SPAN_ID_BYTES, true, linkPrefix);
      this.leave();
      this.leave();
      if (lt === null || ls === null) return false;
      link.trace_id = lt;
      link.span_id = ls;
    }
    return true;
  }

  private events(v: Json, s: SpanFields): void {
    const list = this.array(v, 'events');
    this.enter('events');
    for (let i = 0; i < list.length; i++) {
      this.enter(i);
      const o = this.object(list[i]);
      const ev: SpanEvent = { time_unix_nano: 0n, name: '', attributes: '{}', dropped_attributes_count: 0 };
      for (const k in o) {
        const x = o[k];
        if (k === 'timeUnixNano' || k === 'time_unix_nano') ev.time_unix_nano = this.u64(x, 'timeUnixNano');
        else if (k === 'name') ev.name = this.string(x, 'name');
        else if (k === 'attributes') ev.attributes = this.attributesJson(x, 'attributes');
        else if (k === 'droppedAttributesCount' || k === 'dropped_attributes_count') {
          ev.dropped_attributes_count = this.u32(x, 'droppedAttributesCount');
        }
      }
      s.events.push(ev);
      this.leave();
    }
    this.leave();
  }

  private links(v: Json, s: SpanFields, linkIds: Json[]): void {
    const list = this.array(v, 'links');
    this.enter('links');
    for (let i = 0; i < list.length; i++) {
      this.enter(i);
      const o = this.object(list[i]);
      const link: SpanLink = {
        trace_id: '',
        span_id: '',
        trace_state: '',
        attributes: '{}',
        flags: 0n,
        dropped_attributes_count: 0,
      };
      let traceId: Json = undefined;
      let spanId: Json = undefined;
      for (const k in o) {
        const x = o[k];
        if (k === 'traceId' || k === 'trace_id') traceId = x;
        else if (k === 'spanId' || k === 'span_id') spanId = x;
        else if (k === 'traceState' || k === 'trace_state') link.trace_state = this.string(x, 'traceState');
        else if (k === 'attributes') link.attributes = this.attributesJson(x, 'attributes');
        else if (k === 'droppedAttributesCount' || k === 'dropped_attributes_count') {
          link.dropped_attributes_count = this.u32(x, 'droppedAttributesCount');
        } else if (k === 'flags') link.flags = BigInt(this.u32(x, 'flags'));
      }
      linkIds.push(traceId, spanId);
      s.links.push(link);
      this.leave();
    }
    this.leave();
  }

  private status(v: Json, s: SpanFields): void {
    const o = this.object(v, 'status');
    this.enter('status');
    for (const k in o) {
      if (k === 'message') s.statusMessage = this.string(o[k], 'message');
      else if (k === 'code') s.statusCode = this.enumValue(o[k], 'code', STATUS_CODE_NAMES);
    }
    this.leave();
  }
}

/** Decodes an OTLP/JSON ExportLogsServiceRequest. `nowNs` stands in for missing timestamps. */
export function decodeLogsJson(text: string, nowNs: bigint): ColumnBatch {
  return new LogsDecoder(nowNs).decode(text);
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest. `nowNs` is unused: spans carry their times. */
export function decodeTracesJson(text: string, _nowNs: bigint): ColumnBatch {
  return new TracesDecoder().decode(text);
}
