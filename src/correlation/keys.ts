/**
 * The keys that tie signals together — trace ids, `service.name`, `host.name`, `k8s.pod.name` and
 * a time window — and where each signal keeps them:
 * - metric series labels: `service` (span metrics), `service_name`, `service.name`, else `job`
 *   (OTLP metrics: `service.namespace/service.name`); `host_name`, `host.name`, `host`,
 *   `hostname`, else an `instance` of the node_exporter form `host:port`; `k8s_pod_name`,
 *   `k8s.pod.name`, `pod` (OTLP resources also put these on `target_info`, which the source joins);
 * - spans and OTLP log rows: the resource attributes `service.name`, `host.name`, `k8s.pod.name`;
 * - Loki-pushed log rows: the stream labels `service_name`, `host_name`, `k8s_pod_name`.
 * Pure: no storage.
 */
import type { Attr } from '../traces/span.ts';

export interface Keys {
  traceIds: string[];
  services: string[];
  hosts: string[];
  pods: string[];
  /** [startNs, endNs) */
  startNs: bigint;
  endNs: bigint;
}

export type KeyName = 'trace_id' | 'service.name' | 'host.name' | 'k8s.pod.name';

export const emptyKeys = (startNs: bigint, endNs: bigint): Keys => ({
  traceIds: [],
  services: [],
  hosts: [],
  pods: [],
  startNs,
  endNs,
});

/** Adds values not yet in `list`, keeping first-seen order. */
export function addUnique(list: string[], ...values: (string | undefined | null)[]): void {
  for (const v of values) if (v && !list.includes(v)) list.push(v);
}

const SERVICE_LABELS = ['service', 'service_name', 'service.name'];
const HOST_LABELS = ['host_name', 'host.name', 'host', 'hostname'];
const POD_LABELS = ['k8s_pod_name', 'k8s.pod.name', 'pod'];
/** node_exporter's `instance`: `host:port` (an OTLP `instance` is a service.instance.id instead) */
const HOST_PORT = /^(.+):\d{1,5}$/;

/** Keys from one metric series' labels. */
export function keysOfSeries(labels: Readonly<Record<string, string>>, into: Keys): void {
  const service = SERVICE_LABELS.map((l) => labels[l]).find((v) => v);
  const job = labels.job;
  addUnique(into.services, service ?? (job ? job.slice(job.lastIndexOf('/') + 1) : undefined));
  const host = HOST_LABELS.map((l) => labels[l]).find((v) => v);
  addUnique(into.hosts, host ?? HOST_PORT.exec(labels.instance ?? '')?.[1]);
  addUnique(
    into.pods,
    POD_LABELS.map((l) => labels[l]).find((v) => v),
  );
}

const attrString = (attrs: readonly Attr[], key: string): string | undefined => {
  const a = attrs.find((x) => x.key === key);
  return a === undefined ? undefined : String(a.value);
};

/** Keys from a span's resource attributes. */
export function keysOfResource(resource: readonly Attr[], into: Keys): void {
  addUnique(into.services, attrString(resource, 'service.name'));
  addUnique(into.hosts, attrString(resource, 'host.name'));
  addUnique(into.pods, attrString(resource, 'k8s.pod.name'));
}

/** Keys from a log row (its columns by name). */
export function keysOfLogRow(row: Readonly<Record<string, unknown>>, into: Keys): void {
  const s = (c: string) => (typeof row[c] === 'string' && row[c] !== '' ? row[c] : undefined);
  addUnique(into.traceIds, s('trace_id'));
  addUnique(into.services, s('resource.service.name') ?? s('resource.service_name'));
  addUnique(into.hosts, s('resource.host.name') ?? s('resource.host_name'));
  addUnique(into.pods, s('resource.k8s.pod.name') ?? s('resource.k8s_pod_name'));
}

/** The answer's `keys`: only the keys a query used, values as lists; the window as RFC 3339 and ns. */
export function keysJson(keys: Keys, used: ReadonlySet<KeyName>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (used.has('trace_id')) out.trace_id = keys.traceIds;
  if (used.has('service.name')) out['service.name'] = keys.services;
  if (used.has('host.name')) out['host.name'] = keys.hosts;
  if (used.has('k8s.pod.name')) out['k8s.pod.name'] = keys.pods;
  out.time_window = windowJson(keys.startNs, keys.endNs);
  return out;
}

export const nsToRfc3339 = (ns: bigint): string => {
  const ms = ns / 1_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${frac}Z`;
};

export const windowJson = (startNs: bigint, endNs: bigint) => ({
  start: nsToRfc3339(startNs),
  end: nsToRfc3339(endNs),
  start_ns: startNs.toString(),
  end_ns: endNs.toString(),
});
