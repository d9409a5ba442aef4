/**
 * One Zipkin v2 span (https://zipkin.io/zipkin-api/#/default/post_spans, zipkin.proto) as both
 * decoders read it, and its mapping to the OTLP span model, following the OpenTelemetry Collector's
 * Zipkin receiver:
 *
 * - `traceId` (16 or 32 hex digits; 64-bit ids are left-padded with zeros to 128 bits, as OTel
 *   does), `id`, `parentId` → lowercase hex; a `parentId` equal to `id` is dropped.
 * - `timestamp`, `duration`, annotation timestamps: epoch µs (fractions allowed) → ns; a span
 *   without `timestamp` starts at the receive time.
 * - `kind` CLIENT/SERVER/PRODUCER/CONSUMER → 3/2/4/5; absent → the `span.kind` tag, else 0.
 * - `localEndpoint.serviceName` → `resource.service.name`; tags named like OpenTelemetry resource
 *   attributes (`service.*`, `host.*`, `telemetry.*`, …: what OTel's Zipkin exporter copies from the
 *   resource) → `resource.<key>`; other tags → `attr.<key>` (strings), after the conventions of
 *   foreign-span.ts.
 * - `localEndpoint` ipv4/ipv6/port → `attr.net.host.ip` / `attr.net.host.port`;
 *   `remoteEndpoint` serviceName/ipv4/ipv6/port → `attr.peer.service` / `attr.net.peer.ip` /
 *   `attr.net.peer.port` (the Collector's mapping).
 * - `annotations` → events (name = value, no attributes). `debug` and `shared` are not kept.
 */
import { T_INT, T_STR } from '../otlp/batch-builder.ts';
import { badSpan, microsToNanos, type ForeignSpanMapper } from '../foreign-span.ts';

export interface ZipkinEndpoint {
  serviceName: string;
  ipv4: string;
  ipv6: string;
  port: number;
}

export interface ZipkinSpan {
  /** hex as sent (validated and padded by the mapping) */
  traceId: string;
  id: string;
  parentId: string;
  /** OTLP kind, 0 when absent */
  kind: number;
  name: string;
  timestampUs: number | bigint | null;
  durationUs: number | bigint;
  local: ZipkinEndpoint | null;
  remote: ZipkinEndpoint | null;
  annotations: { timestampUs: number | bigint; value: string }[];
  tags: [string, string][];
}

export const ZIPKIN_KINDS: Readonly<Record<string, number>> = {
  CLIENT: 3,
  SERVER: 2,
  PRODUCER: 4,
  CONSUMER: 5,
};

const RESOURCE_PREFIXES = [
  'service.',
  'telemetry.',
  'host.',
  'os.',
  'process.',
  'container.',
  'k8s.',
  'cloud.',
  'deployment.',
  'faas.',
  'device.',
  'webengine.',
];
const isResourceKey = (key: string) => RESOURCE_PREFIXES.some((p) => key.startsWith(p));

const HEX = /^[0-9a-fA-F]+$/;

/** A hex id of up to `digits` digits, left-padded; '' when absent (or all zero and optional). */
function hexId(value: string, digits: number, required: boolean, field: string): string {
  if (value === '') {
    if (required) throw badSpan(`${field}: missing; a Zipkin span needs it`);
    return '';
  }
  if (value.length > digits || !HEX.test(value)) {
    throw badSpan(`${field}: ${JSON.stringify(value.slice(0, 40))} is not up to ${digits} hex digits`);
  }
  const hex = value.toLowerCase().padStart(digits, '0');
  if (/^0+$/.test(hex)) {
    if (required) throw badSpan(`${field}: an all-zero id is invalid`);
    return '';
  }
  return hex;
}

function endpointAttrs(m: ForeignSpanMapper, e: ZipkinEndpoint, ipKey: string, portKey: string): void {
  const ip = e.ipv6 !== '' ? e.ipv6 : e.ipv4;
  if (ip !== '') m.tag(ipKey, T_STR, ip);
  if (e.port > 0) m.tag(portKey, T_INT, BigInt(e.port));
}

/** Maps one span; `path` (`[3]`) names it in error messages. */
export function mapZipkinSpan(m: ForeignSpanMapper, z: ZipkinSpan, path: string, nowNs: bigint): void {
  const s = m.begin();
  const traceHex = hexId(z.traceId, 32, true, `${path}.traceId`);
  s.traceId = traceHex.padStart(32, '0');
  s.spanId = hexId(z.id, 16, true, `${path}.id`);
  const parent = hexId(z.parentId, 16, false, `${path}.parentId`);
  s.parentSpanId = parent === s.spanId ? '' : parent;
  s.name = z.name;
  s.startNs = z.timestampUs === null ? nowNs : microsToNanos(z.timestampUs, `${path}.timestamp`);
  s.endNs = s.startNs + microsToNanos(z.durationUs, `${path}.duration`);
  for (const [key, value] of z.tags) {
    if (isResourceKey(key)) m.resourceAttr(key, T_STR, value);
    else m.tag(key, T_STR, value);
  }
  if (z.local) {
    if (z.local.serviceName !== '') m.resourceAttr('service.name', T_STR, z.local.serviceName);
    endpointAttrs(m, z.local, 'net.host.ip', 'net.host.port');
  }
  if (z.remote) {
    if (z.remote.serviceName !== '') m.tag('peer.service', T_STR, z.remote.serviceName);
    endpointAttrs(m, z.remote, 'net.peer.ip', 'net.peer.port');
  }
  z.annotations.forEach((a, i) =>
    m.event({
      time_unix_nano: microsToNanos(a.timestampUs, `${path}.annotations[${i}].timestamp`),
      name: a.value,
      attributes: '{}',
      dropped_attributes_count: 0,
    }),
  );
  m.end(z.kind);
}
