/**
 * Zipkin and Jaeger spans → the OTLP span model (SpanBatchBuilder), with the conventions the
 * OpenTelemetry Collector's Zipkin and Jaeger receivers use
 * (https://opentelemetry.io/docs/specs/otel/trace/sdk_exporters/zipkin/,
 * https://opentelemetry.io/docs/specs/otel/trace/sdk_exporters/jaeger/). Both protocols carry one
 * service per span (Zipkin) or per batch (Jaeger) and no instrumentation scope, so every span gets its
 * own resource and scope group here. Tags with a meaning in OTLP are taken out of the attributes:
 *
 * | tag                                             | becomes                                     |
 * |-------------------------------------------------|---------------------------------------------|
 * | `span.kind` (client/server/producer/consumer/internal) | `kind`, when the protocol has none   |
 * | `otel.status_code` (OK/ERROR/UNSET, or STATUS_CODE_*)   | `status_code`                        |
 * | `otel.status_description`                       | `status_message`                            |
 * | `error` (true, or a message as OTel's Zipkin exporter sends) | `status_code` ERROR (+ message) unless `otel.status_code` says otherwise |
 * | `w3c.tracestate`                                | `trace_state`                               |
 * | `otel.scope.name` / `otel.library.name`         | `scope.name`                                |
 * | `otel.scope.version` / `otel.library.version`   | `scope.version`                             |
 * | `otel.dropped_{attributes,events,links}_count`  | the `dropped_*_count` columns               |
 *
 * Every other tag is `attr.<key>` with its wire type. Malformed spans refuse the whole request
 * (400): neither protocol has a partial-success answer, and bad input must not be stored half-way.
 */
import { badRequest } from '../lib/errors.ts';
import type { FieldValue, SpanEvent } from '../write/column-batch.ts';
import {
  emptySpanFields,
  RESOURCE,
  SCOPE,
  T_BOOL,
  T_STR,
  type SpanBatchBuilder,
  type SpanFields,
  type TypeId,
} from './otlp/batch-builder.ts';

export const badSpan = (message: string, code = 'MS_ERR_BAD_SPAN') => badRequest(message, code);

const KINDS: Readonly<Record<string, number>> = {
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};
const STATUS: Readonly<Record<string, number>> = {
  UNSET: 0,
  OK: 1,
  ERROR: 2,
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

/** Largest epoch microseconds whose nanoseconds fit int64 (2262-04-11). */
const MAX_MICROS = 9_223_372_036_854_775n;

/**
 * Epoch microseconds (an integer, or with a fraction as OTel's JS Zipkin exporter sends) → ns.
 * Negative, non-finite and beyond-int64 values are refused: `field` names the place.
 */
export function microsToNanos(us: number | bigint, field: string): bigint {
  if (typeof us === 'bigint') {
    if (us < 0n || us > MAX_MICROS) throw badSpan(`${field}: ${us} µs is out of range (0 to ${MAX_MICROS})`);
    return us * 1000n;
  }
  if (!Number.isFinite(us) || us < 0 || us > Number(MAX_MICROS)) {
    throw badSpan(`${field}: ${String(us)} µs is out of range (0 to ${MAX_MICROS})`);
  }
  const whole = Math.trunc(us);
  return BigInt(whole) * 1000n + BigInt(Math.round((us - whole) * 1000));
}

/** Unsigned 64-bit integer parts → 16 lowercase hex digits. */
export const u64Hex = (v: bigint): string => BigInt.asUintN(64, v).toString(16).padStart(16, '0');

/** One span being mapped: resource attributes, tags and events go in, then `end` emits it. */
export class ForeignSpanMapper {
  readonly s: SpanFields = emptySpanFields();
  private kindTag = -1;
  private statusTag = -1;
  private errorTag: string | null = null;
  private scopeName = '';
  private scopeVersion = '';

  constructor(private readonly out: SpanBatchBuilder) {}

  begin(): SpanFields {
    this.out.beginGroup(RESOURCE);
    this.out.beginGroup(SCOPE);
    this.out.beginRecord();
    Object.assign(this.s, emptySpanFields());
    this.kindTag = -1;
    this.statusTag = -1;
    this.errorTag = null;
    this.scopeName = '';
    this.scopeVersion = '';
    return this.s;
  }

  resourceAttr(key: string, type: TypeId, value: FieldValue): void {
    this.out.groupAttr(RESOURCE, key, type, value);
  }

  /** A span tag: one of the conventions above, or an attribute. */
  tag(key: string, type: TypeId, value: FieldValue): void {
    if (key.startsWith('otel.') || key === 'span.kind' || key === 'error' || key === 'w3c.tracestate') {
      if (this.special(key, type, value)) return;
    }
    this.out.recordAttr(key, type, value);
  }

  private special(key: string, type: TypeId, value: FieldValue): boolean {
    const text = type === T_STR ? (value as string) : null;
    switch (key) {
      case 'span.kind': {
        const kind = text === null ? undefined : KINDS[text.toLowerCase()];
        if (kind === undefined) return false;
        this.kindTag = kind;
        return true;
      }
      case 'otel.status_code': {
        const code = text === null ? undefined : STATUS[text.toUpperCase()];
        if (code === undefined) return false;
        this.statusTag = code;
        return true;
      }
      case 'error':
        if (type === T_BOOL) this.errorTag = value === true ? '' : null;
        else if (text !== null) this.errorTag = text === 'false' ? null : text === 'true' ? '' : text;
        else return false;
        return true;
      case 'otel.status_description':
      case 'w3c.tracestate':
      case 'otel.scope.name':
      case 'otel.library.name':
      case 'otel.scope.version':
      case 'otel.library.version':
        if (text === null) return false;
        if (key === 'otel.status_description') this.s.statusMessage = text;
        else if (key === 'w3c.tracestate') this.s.traceState = text;
        else if (key.endsWith('.name')) this.scopeName = text;
        else this.scopeVersion = text;
        return true;
      case 'otel.dropped_attributes_count':
      case 'otel.dropped_events_count':
      case 'otel.dropped_links_count': {
        const n =
          text !== null && /^\d{1,9}$/.test(text)
            ? Number(text)
            : typeof value === 'bigint'
              ? Number(value)
              : -1;
        if (n < 0 || n > 0xffffffff) return false;
        if (key === 'otel.dropped_attributes_count') this.s.droppedAttributes = n;
        else if (key === 'otel.dropped_events_count') this.s.droppedEvents = n;
        else this.s.droppedLinks = n;
        return true;
      }
      default:
        return false;
    }
  }

  event(e: SpanEvent): void {
    this.s.events.push(e);
  }

  /**
   * Emits the span. `protocolKind` is the kind the protocol itself carries (0 = none, then the
   * `span.kind` tag decides). Ids in `s` must already be lowercase hex of the right length.
   */
  end(protocolKind: number): void {
    const s = this.s;
    s.kind = protocolKind !== 0 ? protocolKind : this.kindTag > 0 ? this.kindTag : 0;
    if (this.statusTag >= 0) s.statusCode = this.statusTag;
    else if (this.errorTag !== null) s.statusCode = 2;
    if (s.statusCode === 2 && s.statusMessage === '' && this.errorTag !== null)
      s.statusMessage = this.errorTag;
    this.out.emit(s);
    this.out.endScope(this.scopeName, this.scopeVersion);
    this.out.endGroup(RESOURCE);
  }
}
