/**
 * Ready-to-run queries from correlation keys, each with the parameters to run it through our own
 * APIs: PromQL (`/api/v1/query_range`), LogQL (`/loki/api/v1/query_range`; OTLP `service.name` is
 * the stream label `service_name`, `k8s.pod.name` → `k8s_pod_name`, while `trace_id` and
 * `host.name` are structured metadata: src/logql/engine/labels-mapping.ts), TraceQL
 * (`/api/search?q=`) and SQL (`POST /api/{org}/_search`). Each builder says which keys it used.
 * Pure: no storage.
 */
import type { KeyName, Keys } from './keys.ts';

export interface BuiltQuery {
  query: string;
  /** the request parameters besides the query, as the API takes them */
  params: Record<string, string>;
  used: KeyName[];
}

const NS_PER_S = 1_000_000_000n;
/** a double-quoted string literal PromQL, LogQL and TraceQL all read back as `s` */
const quote = (s: string): string => JSON.stringify(s);
const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const sqlIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
/** RE2 escape of a literal */
export const reEscape = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/** `name="v"`, or `name=~"a|b"` for several values */
const matcher = (name: string, values: readonly string[], wrap = (re: string) => re): string =>
  values.length === 1 && wrap('') === ''
    ? `${name}=${quote(values[0]!)}`
    : `${name}=~${quote(wrap(values.map(reEscape).join('|')))}`;

const seconds = (ns: bigint): string => (ns / NS_PER_S).toString();
const secondsMs = (ns: bigint): string => (Number(ns / 1_000_000n) / 1000).toString();

/** TraceQL for `/api/search`: the traces by id, else of the services, else of the hosts (or pods). */
export function traceQL(keys: Keys, limit: number): BuiltQuery | null {
  let query: string;
  let used: KeyName[];
  const any = (field: string, values: readonly string[]) =>
    `{ ${values.map((v) => `${field} = ${quote(v)}`).join(' || ')} }`;
  // TraceQL's trace:id is Tempo's short form: the hex id without its leading zeros
  const short = keys.traceIds.map((id) => id.replace(/^0+(?=.)/, ''));
  if (short.length > 0) [query, used] = [any('trace:id', short), ['trace_id']];
  else if (keys.services.length > 0)
    [query, used] = [any('resource.service.name', keys.services), ['service.name']];
  else if (keys.hosts.length > 0) [query, used] = [any('resource.host.name', keys.hosts), ['host.name']];
  else if (keys.pods.length > 0) [query, used] = [any('resource.k8s.pod.name', keys.pods), ['k8s.pod.name']];
  else return null;
  // /api/search takes whole seconds and reads through the end of the `end` second
  return {
    query,
    params: { start: seconds(keys.startNs), end: seconds(keys.endNs), limit: String(limit) },
    used,
  };
}

/**
 * LogQL for `/loki/api/v1/query_range`: the lines of the traces (`| trace_id=…`) within their
 * services' streams, else the services' streams, else the pods' streams, else the hosts' lines.
 */
export function logQL(keys: Keys, limit: number): BuiltQuery | null {
  const used: KeyName[] = [];
  let selector: string;
  if (keys.services.length > 0) {
    selector = `{${matcher('service_name', keys.services)}}`;
    used.push('service.name');
  } else if (keys.pods.length > 0 && keys.traceIds.length === 0) {
    selector = `{${matcher('k8s_pod_name', keys.pods)}}`;
    used.push('k8s.pod.name');
  } else selector = '{service_name=~".+"}';
  let filter = '';
  if (keys.traceIds.length > 0) {
    filter = ` | ${matcher('trace_id', keys.traceIds)}`;
    used.push('trace_id');
  } else if (used.length === 0 && keys.hosts.length > 0) {
    filter = ` | ${matcher('host_name', keys.hosts)}`;
    used.push('host.name');
  }
  if (used.length === 0) return null;
  return {
    query: selector + filter,
    params: {
      start: keys.startNs.toString(),
      end: keys.endNs.toString(),
      limit: String(limit),
      direction: 'backward',
    },
    used,
  };
}

/** A logs stream and its column names (SQL may name only columns it has). */
export interface LogStreamColumns {
  name: string;
  columns: ReadonlySet<string>;
}

/**
 * SQL for `POST /api/{org}/_search` over every logs stream that can hold a match: the rows with
 * the trace ids, else of the services, else of the hosts, else of the pods; `_stream` names the
 * stream of each row; newest first.
 */
export function logSQL(keys: Keys, streams: readonly LogStreamColumns[], limit: number): BuiltQuery | null {
  let columns: string[];
  let values: string[];
  let used: KeyName;
  if (keys.traceIds.length > 0) [columns, values, used] = [['trace_id'], keys.traceIds, 'trace_id'];
  else if (keys.services.length > 0)
    [columns, values, used] = [
      ['resource.service.name', 'resource.service_name'],
      keys.services,
      'service.name',
    ];
  else if (keys.hosts.length > 0)
    [columns, values, used] = [['resource.host.name', 'resource.host_name'], keys.hosts, 'host.name'];
  else if (keys.pods.length > 0)
    [columns, values, used] = [['resource.k8s.pod.name', 'resource.k8s_pod_name'], keys.pods, 'k8s.pod.name'];
  else return null;
  const inList = `IN (${values.map(sqlString).join(', ')})`;
  const parts: string[] = [];
  for (const s of streams) {
    const have = columns.filter((c) => s.columns.has(c));
    if (have.length === 0) continue;
    const cond = have.map((c) => `${sqlIdent(c)} ${inList}`).join(' OR ');
    parts.push(`SELECT ${sqlString(s.name)} AS _stream, * FROM logs.${sqlIdent(s.name)} WHERE ${cond}`);
  }
  if (parts.length === 0) return null;
  return {
    query: `SELECT * FROM (${parts.join(' UNION ALL BY NAME ')}) ORDER BY _timestamp DESC LIMIT ${limit}`,
    params: { start_time: keys.startNs.toString(), end_time: keys.endNs.toString(), size: String(limit) },
    used: [used],
  };
}

/** a range query step giving about 100 points over the window, at least 1 s */
export function stepSeconds(keys: Keys): number {
  const windowS = Number((keys.endNs - keys.startNs) / NS_PER_S);
  return Math.max(1, Math.ceil(windowS / 100));
}

/**
 * PromQL for `/api/v1/query_range`: the services' series — span metrics (`service`) and their own
 * metrics (OTLP `job` = `[namespace/]service.name`) — else the hosts' (`host_name`, node_exporter
 * `instance` = `host:port`, or the series of a `target_info` carrying the host), else the pods'.
 * Histogram buckets are left out (their `_count`/`_sum` stay).
 */
export function promQL(keys: Keys): BuiltQuery | null {
  const NO_BUCKETS = '__name__!~".+_bucket"';
  let query: string;
  let used: KeyName;
  const viaTargetInfo = (m: string) => `({${NO_BUCKETS}, job!=""} and on (job, instance) target_info{${m}})`;
  if (keys.services.length > 0) {
    query = [
      `{${NO_BUCKETS}, ${matcher('service', keys.services)}}`,
      `{${NO_BUCKETS}, ${matcher('job', keys.services, (re) => `(.+/)?(${re})`)}}`,
    ].join(' or ');
    used = 'service.name';
  } else if (keys.hosts.length > 0) {
    const m = matcher('host_name', keys.hosts);
    query = [
      `{${NO_BUCKETS}, ${m}}`,
      `{${NO_BUCKETS}, ${matcher('instance', keys.hosts, (re) => `(${re})(:[0-9]+)?`)}}`,
      viaTargetInfo(m),
    ].join(' or ');
    used = 'host.name';
  } else if (keys.pods.length > 0) {
    const m = matcher('k8s_pod_name', keys.pods);
    query = `{${NO_BUCKETS}, ${m}} or ${viaTargetInfo(m)}`;
    used = 'k8s.pod.name';
  } else return null;
  return {
    query,
    params: { start: secondsMs(keys.startNs), end: secondsMs(keys.endNs), step: `${stepSeconds(keys)}s` },
    used: [used],
  };
}
