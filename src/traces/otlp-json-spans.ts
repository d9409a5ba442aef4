/**
 * OTLP/JSON `ExportTraceServiceRequest` → Span[] (src/traces/span.ts), for tests and tools that
 * need spans without the storage round trip (the conformance data, unit tests of TraceQL).
 */
import type { Attr, Span } from './span.ts';

type J = Record<string, unknown>;

const arr = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0;
const big = (v: unknown): bigint =>
  typeof v === 'string' && v !== '' ? BigInt(v) : typeof v === 'number' ? BigInt(v) : 0n;

/** an OTLP JSON id: hex (the JSON mapping) or base64 (protobuf JSON); → lowercase hex */
function hexId(v: unknown, bytes: number): string {
  const s = str(v);
  if (s === '') return '';
  if (s.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(s)) return s.toLowerCase();
  return Buffer.from(s, 'base64').toString('hex');
}

export function otlpJsonAttr(kv: J): Attr {
  const key = str(kv.key);
  const v = (kv.value ?? {}) as J;
  if ('stringValue' in v) return { key, type: 'string', value: str(v.stringValue) };
  if ('intValue' in v) {
    const n = Number(v.intValue);
    return { key, type: 'int', value: Number.isSafeInteger(n) ? n : String(v.intValue) };
  }
  if ('doubleValue' in v) return { key, type: 'double', value: num(v.doubleValue) };
  if ('boolValue' in v) return { key, type: 'bool', value: v.boolValue === true };
  if ('bytesValue' in v) return { key, type: 'bytes', value: str(v.bytesValue) };
  if ('arrayValue' in v) return { key, type: 'array', value: JSON.stringify(v.arrayValue) };
  if ('kvlistValue' in v) return { key, type: 'kvlist', value: JSON.stringify(v.kvlistValue) };
  return { key, type: 'string', value: '' };
}

const attrs = (v: unknown): Attr[] => arr(v).map(otlpJsonAttr);

export function spansFromOtlpJson(body: unknown): Span[] {
  const out: Span[] = [];
  for (const rs of arr((body as J).resourceSpans)) {
    const resource = attrs(((rs.resource ?? {}) as J).attributes);
    for (const ss of arr(rs.scopeSpans ?? rs.instrumentationLibrarySpans)) {
      const sc = (ss.scope ?? ss.instrumentationLibrary ?? {}) as J;
      const scope = { name: str(sc.name), version: str(sc.version) };
      for (const s of arr(ss.spans)) {
        const startNs = big(s.startTimeUnixNano);
        const endNs = big(s.endTimeUnixNano);
        const status = (s.status ?? {}) as J;
        out.push({
          traceId: hexId(s.traceId, 16),
          spanId: hexId(s.spanId, 8),
          parentSpanId: hexId(s.parentSpanId, 8),
          traceState: str(s.traceState),
          name: str(s.name),
          kind: num(s.kind),
          startNs,
          endNs,
          durationNs: endNs > startNs ? endNs - startNs : 0n,
          statusCode: num(status.code),
          statusMessage: str(status.message),
          flags: num(s.flags),
          resource,
          scope,
          attributes: attrs(s.attributes),
          events: arr(s.events).map((e) => ({
            timeNs: big(e.timeUnixNano),
            name: str(e.name),
            attributes: attrs(e.attributes),
            droppedAttributesCount: num(e.droppedAttributesCount),
          })),
          links: arr(s.links).map((l) => ({
            traceId: hexId(l.traceId, 16),
            spanId: hexId(l.spanId, 8),
            traceState: str(l.traceState),
            attributes: attrs(l.attributes),
            flags: num(l.flags),
            droppedAttributesCount: num(l.droppedAttributesCount),
          })),
          droppedAttributesCount: num(s.droppedAttributesCount),
          droppedEventsCount: num(s.droppedEventsCount),
          droppedLinksCount: num(s.droppedLinksCount),
        });
      }
    }
  }
  return out;
}

/** spans grouped by trace id, each trace's spans in input order */
export function groupByTrace(spans: readonly Span[]): Map<string, Span[]> {
  const m = new Map<string, Span[]>();
  for (const s of spans) {
    const t = m.get(s.traceId);
    if (t) t.push(s);
    else m.set(s.traceId, [s]);
  }
  return m;
}
