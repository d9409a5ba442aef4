/**
 * A span as the trace query side sees it: the contract between the span reader (rows of a traces
 * stream → Span, src/traces/span-reader.ts), TraceQL (src/traces/traceql/), the Tempo, Jaeger and
 * Zipkin query APIs (src/traces/api/), span metrics and correlation. Attributes keep their scope,
 * key and OTLP type (DESIGN.md decision 6), so every answer can give them back as they came in.
 */

export type AttrType = 'string' | 'int' | 'double' | 'bool' | 'bytes' | 'array' | 'kvlist';

export interface Attr {
  key: string;
  type: AttrType;
  /**
   * string/bytes (base64) → string; int → number when it is a safe integer, else its decimal
   * string; double → number; bool → boolean; array/kvlist → the OTLP JSON text of the value
   */
  value: string | number | boolean;
}

export interface SpanEvent {
  timeNs: bigint;
  name: string;
  attributes: Attr[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attr[];
  flags: number;
  droppedAttributesCount: number;
}

export interface Span {
  /** lowercase hex, 32 characters */
  traceId: string;
  /** lowercase hex, 16 characters */
  spanId: string;
  /** '' for a root span */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  kind: number;
  /** `_timestamp`: start, ns since the epoch */
  startNs: bigint;
  endNs: bigint;
  durationNs: bigint;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error */
  statusCode: number;
  statusMessage: string;
  flags: number;
  resource: Attr[];
  /** `attributes`: the scope's attributes (`scope.attr.<key>` columns), absent when none */
  scope: { name: string; version: string; attributes?: Attr[] };
  attributes: Attr[];
  events: SpanEvent[];
  links: SpanLink[];
  droppedAttributesCount: number;
  droppedEventsCount: number;
  droppedLinksCount: number;
}
