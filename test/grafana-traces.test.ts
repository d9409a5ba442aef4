/**
 * Done-when 2 of issue 6: the requests Grafana's Tempo and Jaeger data sources send
 * (../shared/notes/grafana-requests.md §4 and §5), replayed in Grafana's order with its parameters
 * (Go's sorted `url.Values`, Unix seconds for Tempo, µs for Jaeger search, ms for Jaeger trace by id
 * and dependencies) and headers (`Accept: application/json` on search, `Accept: application/protobuf`
 * on the trace view), against a real server loaded with the TraceQL conformance data set
 * (../shared/conformance/traceql/data). Tempo's answers are checked against the recorded Tempo 2.7.2
 * answers (expected/ and api/) and against the fields of Tempo's protobuf messages (Grafana decodes
 * search answers with unknown fields rejected, and trace answers as protobuf); Jaeger's against the
 * shapes of peers-and-apis.md §5.4 and against the data set itself.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { KIND_NAMES, STATUS_NAMES } from '../src/traces/api/otlp-out.ts';
import { removeDir, SHARED_DIR, startServer, type ServerProcess } from './harness.ts';

const DIR = join(SHARED_DIR, 'conformance', 'traceql');
const missing = existsSync(join(DIR, 'data'))
  ? null
  : `${DIR} is absent: the shared conformance data lives beside the project (../shared)`;
if (missing && process.env.CI === 'true') throw new Error(missing);

type Json = Record<string, unknown>;
interface Fixture {
  request: { path: string; params: Record<string, string> };
  status: number;
  body: unknown;
}
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(DIR, 'api', `${name}.json`), 'utf8')) as Fixture;
const expected = (id: string) =>
  JSON.parse(readFileSync(join(DIR, 'expected', `${id}.json`), 'utf8')) as Fixture;

/** the panel range: the hour the data set covers */
const START_S = 1767225600;
const END_S = 1767229200;
/**
 * Headers Grafana adds upstream (§1.3, §6): the tenant as a custom header, its User-Agent, and on
 * resource calls (autocomplete) the browser's headers the Tempo proxy copies; unknown ones are ignored.
 */
const GRAFANA_HEADERS = {
  'X-Scope-OrgID': 'default',
  'User-Agent': 'Grafana/12.1.0',
  'Accept-Encoding': 'gzip',
  'X-Grafana-Org-Id': '1',
  'X-Datasource-Uid': 'tempo-uid',
  'X-Plugin-Id': 'tempo',
  'X-Panel-Id': '2',
};
/** Go's url.Values.Encode(): keys sorted */
const goQuery = (params: Record<string, string | number>) =>
  Object.keys(params)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(String(params[k]))}`.replace(/%20/g, '+'))
    .join('&');

// ---- the data set, read straight from the OTLP/JSON files: the oracle for the Jaeger answers

interface OtlpValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface DataSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  service: string;
  attrs: Map<string, OtlpValue>;
  resource: Map<string, OtlpValue>;
  status: number;
}
function loadData(): DataSpan[] {
  const out: DataSpan[] = [];
  for (const f of readdirSync(join(DIR, 'data')).sort()) {
    const body = JSON.parse(readFileSync(join(DIR, 'data', f), 'utf8')) as {
      resourceSpans: {
        resource: { attributes: { key: string; value: OtlpValue }[] };
        scopeSpans: {
          spans: {
            traceId: string;
            spanId: string;
            parentSpanId?: string;
            name: string;
            kind: number;
            startTimeUnixNano: string;
            endTimeUnixNano: string;
            attributes?: { key: string; value: OtlpValue }[];
            status?: { code?: number };
          }[];
        }[];
      }[];
    };
    for (const rs of body.resourceSpans) {
      const resource = new Map(rs.resource.attributes.map((a) => [a.key, a.value]));
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans)
          out.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind,
            start: BigInt(s.startTimeUnixNano),
            end: BigInt(s.endTimeUnixNano),
            service: resource.get('service.name')!.stringValue!,
            attrs: new Map((s.attributes ?? []).map((a) => [a.key, a.value])),
            resource,
            status: s.status?.code ?? 0,
          });
    }
  }
  return out;
}
const plain = (v: OtlpValue | undefined) =>
  v === undefined ? undefined : String(v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue);

// ---- Tempo's protobuf messages (tempopb.Trace, TraceByIDResponse over OTLP trace.v1), as Grafana decodes them

const otlp = {
  AnyValue: {
    oneofs: {
      value: {
        oneof: [
          'stringValue',
          'boolValue',
          'intValue',
          'doubleValue',
          'arrayValue',
          'kvlistValue',
          'bytesValue',
        ],
      },
    },
    fields: {
      stringValue: { type: 'string', id: 1 },
      boolValue: { type: 'bool', id: 2 },
      intValue: { type: 'int64', id: 3 },
      doubleValue: { type: 'double', id: 4 },
      arrayValue: { type: 'ArrayValue', id: 5 },
      kvlistValue: { type: 'KeyValueList', id: 6 },
      bytesValue: { type: 'bytes', id: 7 },
    },
  },
  ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
  KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
  KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
  Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
  Scope: { fields: { name: { type: 'string', id: 1 }, version: { type: 'string', id: 2 } } },
  Event: {
    fields: {
      timeUnixNano: { type: 'fixed64', id: 1 },
      name: { type: 'string', id: 2 },
      attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
    },
  },
  Link: {
    fields: {
      traceId: { type: 'bytes', id: 1 },
      spanId: { type: 'bytes', id: 2 },
      traceState: { type: 'string', id: 3 },
      attributes: { rule: 'repeated', type: 'KeyValue', id: 4 },
    },
  },
  Status: { fields: { message: { type: 'string', id: 2 }, code: { type: 'int32', id: 3 } } },
  Span: {
    fields: {
      traceId: { type: 'bytes', id: 1 },
      spanId: { type: 'bytes', id: 2 },
      traceState: { type: 'string', id: 3 },
      parentSpanId: { type: 'bytes', id: 4 },
      name: { type: 'string', id: 5 },
      kind: { type: 'int32', id: 6 },
      startTimeUnixNano: { type: 'fixed64', id: 7 },
      endTimeUnixNano: { type: 'fixed64', id: 8 },
      attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
      events: { rule: 'repeated', type: 'Event', id: 11 },
      links: { rule: 'repeated', type: 'Link', id: 13 },
      status: { type: 'Status', id: 15 },
    },
  },
  ScopeSpans: {
    fields: { scope: { type: 'Scope', id: 1 }, spans: { rule: 'repeated', type: 'Span', id: 2 } },
  },
  ResourceSpans: {
    fields: {
      resource: { type: 'Resource', id: 1 },
      scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 },
    },
  },
  Trace: { fields: { batches: { rule: 'repeated', type: 'ResourceSpans', id: 1 } } },
  TraceByIDResponse: { fields: { trace: { type: 'Trace', id: 1 } } },
};
const root = protobuf.Root.fromJSON({ nested: otlp });
const TraceMsg = root.lookupType('Trace');
const TraceByIdMsg = root.lookupType('TraceByIDResponse');

/** Tempo's JSON trace keyed by span id; `enums` turns a decoded protobuf's kind/status numbers into Tempo's names. */
function spansById(batches: unknown[], enums = false): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const rs of batches as {
    resource: { attributes: unknown[] };
    scopeSpans: { scope: unknown; spans: Json[] }[];
  }[])
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans) {
        const span: Json = { ...s };
        if (enums) {
          span.kind = KIND_NAMES[(s.kind as number) ?? 0];
          const st = (s.status ?? {}) as { code?: number; message?: string };
          span.status = {
            ...(st.message ? { message: st.message } : {}),
            ...(st.code ? { code: STATUS_NAMES[st.code] } : {}),
          };
        }
        out.set(s.spanId as string, {
          resource: sortedJson(rs.resource.attributes),
          scope: ss.scope,
          span: normSpan(span),
        });
      }
  return out;
}
const sortedJson = (xs: unknown[] | undefined) => (xs ?? []).map((x) => JSON.stringify(x)).sort();
/** fields proto3 JSON leaves out when empty are dropped from both sides; attribute lists as sets */
function normSpan(s: Json): Json {
  const o: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === '' || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    if (k === 'status' && Object.keys(v as Json).length === 0) continue;
    if (k === 'kind' && v === 'SPAN_KIND_UNSPECIFIED') continue;
    o[k] =
      k === 'attributes'
        ? sortedJson(v as unknown[])
        : k === 'events' || k === 'links'
          ? (v as Json[]).map((e) => ({ ...e, attributes: sortedJson(e.attributes as unknown[]) }))
          : v;
  }
  return o;
}

// ---- the fields of tempopb.SearchResponse (Grafana decodes /api/search with unknown fields rejected)

const SEARCH_FIELDS: Record<string, string[]> = {
  response: ['traces', 'metrics'],
  trace: [
    'traceID',
    'rootServiceName',
    'rootTraceName',
    'startTimeUnixNano',
    'durationMs',
    'spanSet',
    'spanSets',
    'serviceStats',
  ],
  spanSet: ['spans', 'matched', 'attributes'],
  span: ['spanID', 'name', 'startTimeUnixNano', 'durationNanos', 'attributes'],
  serviceStats: ['spanCount', 'errorCount'],
  metrics: [
    'inspectedTraces',
    'inspectedBytes',
    'totalBlocks',
    'completedJobs',
    'totalJobs',
    'totalBlockBytes',
    'inspectedSpans',
  ],
  keyValue: ['key', 'value'],
  anyValue: [
    'stringValue',
    'boolValue',
    'intValue',
    'doubleValue',
    'arrayValue',
    'kvlistValue',
    'bytesValue',
  ],
};
/** Every field of a search answer is one tempopb.SearchResponse defines; the field paths seen. */
function checkSearchFields(body: Json, where: string, seen = new Set<string>()): Set<string> {
  const only = (o: unknown, kind: string, path: string) => {
    assert.equal(typeof o, 'object', `${where}: ${path} is not an object`);
    for (const k of Object.keys(o as Json)) {
      assert.ok(SEARCH_FIELDS[kind]!.includes(k), `${where}: ${path}.${k} is not a field of Tempo's ${kind}`);
      seen.add(`${kind}.${k}`);
    }
  };
  const kvs = (xs: unknown, path: string) => {
    for (const kv of (xs ?? []) as Json[]) {
      only(kv, 'keyValue', path);
      only(kv.value, 'anyValue', `${path}.value`);
    }
  };
  const spanSet = (ss: Json, path: string) => {
    only(ss, 'spanSet', path);
    kvs(ss.attributes, `${path}.attributes`);
    for (const s of (ss.spans ?? []) as Json[]) {
      only(s, 'span', `${path}.spans[]`);
      assert.match(String(s.startTimeUnixNano), /^\d+$/, `${where}: span startTimeUnixNano`);
      assert.match(String(s.durationNanos), /^\d+$/, `${where}: span durationNanos`);
      kvs(s.attributes, `${path}.spans[].attributes`);
    }
  };
  only(body, 'response', '');
  if (body.metrics) only(body.metrics, 'metrics', 'metrics');
  assert.ok(Array.isArray(body.traces), `${where}: traces is not an array`);
  for (const t of body.traces as Json[]) {
    only(t, 'trace', 'traces[]');
    assert.match(String(t.traceID), /^[0-9a-f]+$/, `${where}: traceID`);
    assert.match(
      String(t.startTimeUnixNano),
      /^\d+$/,
      `${where}: startTimeUnixNano is a uint64 (string or number)`,
    );
    if (t.spanSet) spanSet(t.spanSet as Json, 'traces[].spanSet');
    for (const ss of (t.spanSets ?? []) as Json[]) spanSet(ss, 'traces[].spanSets[]');
    for (const st of Object.values((t.serviceStats ?? {}) as Json))
      only(st, 'serviceStats', 'serviceStats.*');
  }
  return seen;
}

/** Tempo's answer vs ours, as the conformance README says to compare: per trace the fields Grafana reads. */
function sameTraces(got: Json, want: Json, where: string): void {
  const key = (b: Json) =>
    ((b.traces ?? []) as Json[]).map((t) => ({
      traceID: t.traceID,
      rootServiceName: t.rootServiceName,
      rootTraceName: t.rootTraceName,
      startTimeUnixNano: String(t.startTimeUnixNano),
      durationMs: t.durationMs,
      matched: ((t.spanSets ?? []) as Json[]).map((s) => s.matched),
      serviceStats: t.serviceStats,
    }));
  assert.deepEqual(key(got), key(want), where);
}

describe('Grafana Tempo and Jaeger data sources replay', { skip: missing ?? false }, () => {
  let server: ServerProcess;
  let data: DataSpan[];
  const get = async (pathAndQuery: string, headers: Record<string, string> = {}) => {
    const res = await server.fetch(pathAndQuery, { headers: { ...GRAFANA_HEADERS, ...headers } });
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      bytes,
      text: bytes.toString('utf8'),
    };
  };
  const getJson = async (pathAndQuery: string, headers: Record<string, string> = {}) => {
    const r = await get(pathAndQuery, headers);
    assert.equal(r.status, 200, `${pathAndQuery}: ${r.text.slice(0, 300)}`);
    assert.match(r.type, /^application\/json/, pathAndQuery);
    return JSON.parse(r.text) as Json;
  };

  before(async () => {
    data = loadData();
    server = await startServer();
    for (const f of readdirSync(join(DIR, 'data')).sort()) {
      const res = await server.fetch('/v1/traces', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: readFileSync(join(DIR, 'data', f), 'utf8'),
      });
      assert.equal(res.status, 200, await res.text());
    }
  });
  after(async () => {
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  // ---------------------------------------------------------------- Tempo (§4)

  test('Tempo: Save & test calls /api/echo (only the status is read)', async () => {
    const r = await get('/api/echo');
    assert.equal(r.status, 200);
    assert.equal(r.text, fixture('echo').body);
  });

  test('Tempo: opening Explore fetches /api/v2/search/tags?limit=5000, with and without the time range', async () => {
    const want = fixture('search-tags-v2').body as { scopes: { name: string; tags: string[] }[] };
    const norm = (b: Json) =>
      (b.scopes as { name: string; tags: string[] }[])
        .map((s) => `${s.name}:${[...s.tags].sort().join(',')}`)
        .sort();
    for (const q of [goQuery({ limit: 5000 }), goQuery({ end: END_S, limit: 5000, start: START_S })]) {
      const got = await getJson(`/api/v2/search/tags?${q}`);
      assert.deepEqual(Object.keys(got), ['scopes'], q);
      for (const s of got.scopes as Json[]) assert.deepEqual(Object.keys(s).sort(), ['name', 'tags'], q);
      assert.deepEqual(norm(got), norm(want as unknown as Json), q);
    }
  });

  test('Tempo: tag-values autocomplete /api/v2/search/tag/<tag>/values?limit&q&tag (the browser query string passed on)', async () => {
    const typed = (b: Json) => {
      const vs = b.tagValues as { type: string; value: string }[];
      for (const v of vs) {
        assert.deepEqual(Object.keys(v).sort(), ['type', 'value']);
        assert.ok(['string', 'int', 'float', 'bool', 'duration', 'keyword'].includes(v.type), v.type);
      }
      return vs.map((v) => `${v.type}:${v.value}`).sort();
    };
    // the editor's first value list: no filters yet, q = "{}"
    for (const [tag, name] of [
      ['resource.service.name', 'tag-values-v2-resource.service.name'],
      ['span.http.status_code', 'tag-values-v2-span.http.status_code'],
      ['name', 'tag-values-v2-name'],
      ['status', 'tag-values-v2-status'],
      ['kind', 'tag-values-v2-kind'],
    ] as const) {
      const q = `limit=5000&q=${encodeURIComponent('{}')}&tag=${encodeURIComponent(tag)}`;
      const got = await getJson(`/api/v2/search/tag/${tag}/values?${q}`);
      assert.deepEqual(typed(got), typed(fixture(name).body as Json), tag);
      const ranged = await getJson(`/api/v2/search/tag/${tag}/values?${q}&start=${START_S}&end=${END_S}`);
      assert.deepEqual(typed(ranged), typed(got), `${tag} with start/end`);
    }
    // with the filters chosen so far: Tempo's values are a subset of the matching spans' (see tempo-api.test.ts)
    for (const name of [
      'tag-values-v2-name-q-payments',
      'tag-values-v2-service.name-q-staging',
      'tag-values-v2-http.route-q-server-errors',
    ]) {
      const f = fixture(name);
      const tag = f.request.path.split('/')[5]!;
      const q = `limit=5000&q=${encodeURIComponent(f.request.params.q!)}&tag=${encodeURIComponent(tag)}&start=${START_S}&end=${END_S}`;
      const have = new Set(typed(await getJson(`/api/v2/search/tag/${tag}/values?${q}`)));
      for (const v of typed(f.body as Json)) assert.ok(have.has(v), `${name}: ${v} missing`);
    }
  });

  test('Tempo: search as Grafana sends it (sorted params, Accept: application/json) answers fields tempopb defines', async () => {
    const queries = JSON.parse(readFileSync(join(DIR, 'queries.json'), 'utf8')) as {
      id: string;
      category: string;
      q?: string;
      start: number;
      end: number;
      limit?: number;
      spss?: number;
    }[];
    // every field Tempo itself sent must be in the field list (so the list is not too narrow)
    const tempoSeen = new Set<string>();
    for (const q of queries) {
      const e = expected(q.id);
      if (e.status === 200) checkSearchFields(e.body as Json, `tempo ${q.id}`, tempoSeen);
    }
    const ours = new Set<string>();
    let compared = 0;
    for (const q of queries) {
      // a third of the recorded searches (the TraceQL conformance runner replays them all)
      if (q.q === undefined || expected(q.id).status !== 200 || queries.indexOf(q) % 3 !== 0) continue;
      const params: Record<string, string | number> = {
        end: q.end,
        limit: q.limit ?? 20,
        spss: q.spss ?? 3,
        start: q.start,
      };
      if (q.q !== '') params.q = q.q;
      const got = await getJson(`/api/search?${goQuery(params)}`, { Accept: 'application/json' });
      checkSearchFields(got, q.id, ours);
      const want = expected(q.id).body as Json;
      // answers truncated by limit depend on Tempo's block order (README); the rest are compared
      if (((want.traces ?? []) as unknown[]).length < (q.limit ?? 20)) {
        sameTraces(got, want, q.id);
        compared++;
      }
    }
    assert.ok(compared > 20, `${compared} answers compared`);
    for (const f of ours)
      assert.ok(
        tempoSeen.has(f) || /^(response\.metrics|metrics\.|anyValue\.)/.test(f),
        `we send ${f}, Tempo never did`,
      );
  });

  test("Tempo: a TraceQL error is a 400 with Tempo's text", async () => {
    const r = await get(
      `/api/search?${goQuery({ end: END_S, limit: 20, q: '{ span.http.status_code = }', spss: 3, start: START_S })}`,
      { Accept: 'application/json' },
    );
    assert.equal(r.status, 400);
    assert.match(r.text, /^invalid TraceQL query: /);
  });

  test('Tempo: trace view GET /api/v2/traces/<id> with Accept: application/protobuf (and v1 after a 404)', async () => {
    for (const name of [
      'linked-checkout',
      'largest-39-spans',
      'rootless',
      'note-unicode',
      'leading-zero-trimmed',
    ]) {
      const v2 = fixture(`trace-v2-${name}`);
      const v1 = fixture(`trace-v1-${name}`);
      const id = v2.request.path.split('/').pop()!;
      const want = spansById((v2.body as { trace: { resourceSpans: unknown[] } }).trace.resourceSpans);
      assert.deepEqual(
        spansById((v1.body as { batches: unknown[] }).batches),
        want,
        `${name}: v1 and v2 fixtures agree`,
      );
      // without and with the time-shift range (Grafana's jsonData.traceQuery.timeShiftEnabled)
      for (const qs of ['', `?${goQuery({ end: END_S + 1800, start: START_S - 1800 })}`]) {
        const r2 = await get(`/api/v2/traces/${id}${qs}`, { Accept: 'application/protobuf' });
        assert.equal(r2.status, 200, `${name}${qs}`);
        assert.equal(r2.type, 'application/protobuf');
        const resp = TraceByIdMsg.toObject(TraceByIdMsg.decode(r2.bytes), {
          longs: String,
          bytes: String,
        }) as { trace: { batches: unknown[] } };
        assert.deepEqual(spansById(resp.trace.batches, true), want, `${name}${qs} v2`);
        const r1 = await get(`/api/traces/${id}${qs}`, { Accept: 'application/protobuf' });
        assert.equal(r1.status, 200);
        const t1 = TraceMsg.toObject(TraceMsg.decode(r1.bytes), { longs: String, bytes: String }) as {
          batches: unknown[];
        };
        assert.deepEqual(spansById(t1.batches, true), want, `${name}${qs} v1`);
      }
    }
    // an unknown id: v2 answers an empty TraceByIDResponse (Tempo: 200 {"trace":{}}), v1 a 404 Grafana reports
    const unknown = 'ffffffffffffffffffffffffffffffff';
    const r2 = await get(`/api/v2/traces/${unknown}`, { Accept: 'application/protobuf' });
    assert.equal(r2.status, fixture('trace-v2-not-found').status);
    const empty = TraceByIdMsg.toObject(TraceByIdMsg.decode(r2.bytes)) as { trace?: { batches?: unknown[] } };
    assert.equal(empty.trace?.batches?.length ?? 0, 0);
    assert.equal((await get(`/api/traces/${unknown}`, { Accept: 'application/protobuf' })).status, 404);
  });

  test('Tempo: service graph and its table query the linked Prometheus data source (traces_service_graph_*, traces_spanmetrics_*)', async () => {
    // the native-histogram probe through the Prometheus resource path
    const probe = await getJson(
      `/api/v1/series?match%5B%5D=traces_service_graph_request_server_seconds&limit=1&start=${START_S}&end=${END_S}`,
    );
    assert.equal(probe.status, 'success');
    assert.ok(Array.isArray(probe.data));
    const range = `${END_S - START_S}s`; // $__range, substituted by Grafana's Prometheus backend
    const exprs: [string, string[]][] = [];
    for (const m of [
      'traces_service_graph_request_server_seconds_sum',
      'traces_service_graph_request_total',
      'traces_service_graph_request_failed_total',
      'traces_service_graph_request_server_seconds_bucket',
    ]) {
      exprs.push([`sum by (client, server) (rate(${m}[${range}]))`, ['client', 'server']]);
      exprs.push([
        `group by (client, connection_type, server) (${m})`,
        ['client', 'connection_type', 'server'],
      ]);
    }
    exprs.push(
      [
        `topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[${range}])) by (span_name))`,
        ['span_name'],
      ],
      [
        `topk(5, sum(rate(traces_spanmetrics_calls_total{status_code="STATUS_CODE_ERROR",span_kind="SPAN_KIND_SERVER"}[${range}])) by (span_name))`,
        ['span_name'],
      ],
      [
        `histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_kind="SPAN_KIND_SERVER"}[${range}])) by (le))`,
        [],
      ],
    );
    const services = new Set(data.map((s) => s.service));
    for (const [expr, labels] of exprs) {
      // instant queries, POST with a form body (the Prometheus backend's default)
      const res = await server.fetch('/api/v1/query', {
        method: 'POST',
        headers: { ...GRAFANA_HEADERS, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: goQuery({ query: expr, time: END_S }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `${expr}: ${text}`);
      const body = JSON.parse(text) as {
        status: string;
        data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      assert.equal(body.status, 'success', expr);
      assert.equal(body.data.resultType, 'vector', expr);
      for (const r of body.data.result) {
        for (const k of Object.keys(r.metric)) assert.ok(labels.includes(k), `${expr}: label ${k}`);
        if (r.metric.client !== undefined)
          assert.ok(
            services.has(r.metric.client) || r.metric.client === 'user',
            `${expr}: client ${r.metric.client}`,
          );
        assert.equal(typeof r.value[0], 'number');
        assert.equal(typeof r.value[1], 'string');
      }
    }
  });

  // ---------------------------------------------------------------- Jaeger (§5), base URL <host>/jaeger

  const jaegerShape = (b: Json, where: string) => {
    assert.ok(Array.isArray(b.data), `${where}: data`);
    for (const k of ['total', 'limit', 'offset']) assert.equal(typeof b[k], 'number', `${where}: ${k}`);
    assert.ok('errors' in b, `${where}: errors`);
  };
  /** a Jaeger trace checked field by field against the data set */
  const checkJaegerTrace = (t: Json, where: string) => {
    const id = t.traceID as string;
    const want = new Map(data.filter((s) => s.traceId === id).map((s) => [s.spanId, s]));
    const spans = t.spans as Json[];
    const processes = t.processes as Record<
      string,
      { serviceName: string; tags: { key: string; type: string; value: unknown }[] }
    >;
    assert.equal(spans.length, want.size, `${where}: spans of ${id}`);
    for (const s of spans) {
      const w = want.get(s.spanID as string);
      assert.ok(w, `${where}: span ${String(s.spanID)}`);
      assert.equal(s.traceID, id);
      assert.equal(s.operationName, w.name);
      assert.equal(s.startTime, Number(w.start / 1000n));
      assert.equal(s.duration, Number((w.end - w.start) / 1000n));
      const p = processes[s.processID as string]!;
      assert.equal(p.serviceName, w.service);
      for (const tag of p.tags)
        assert.equal(String(tag.value), plain(w.resource.get(tag.key)), `${where}: process tag ${tag.key}`);
      const refs = (s.references as Json[]).filter((r) => r.refType === 'CHILD_OF');
      assert.deepEqual(
        refs,
        w.parentSpanId ? [{ refType: 'CHILD_OF', traceID: id, spanID: w.parentSpanId }] : [],
      );
      const tags = new Map(
        (s.tags as { key: string; type: string; value: unknown }[]).map((x) => [x.key, x]),
      );
      for (const [k, v] of w.attrs) {
        const tag = tags.get(k);
        assert.ok(tag, `${where}: tag ${k}`);
        assert.equal(String(tag.value), plain(v), `${where}: tag ${k}`);
        assert.equal(
          tag.type,
          v.stringValue !== undefined
            ? 'string'
            : v.intValue !== undefined
              ? 'int64'
              : v.doubleValue !== undefined
                ? 'float64'
                : 'bool',
        );
      }
      assert.equal(tags.get('error')?.value, w.status === 2 ? true : undefined, `${where}: error tag`);
      for (const l of s.logs as { timestamp: number; fields: unknown[] }[])
        assert.equal(typeof l.timestamp, 'number');
      for (const k of ['warnings', 'processID', 'references', 'tags', 'logs'])
        assert.ok(k in s, `${where}: span.${k}`);
    }
  };

  test('Jaeger: Save & test and the search form: /api/services, /api/services/<s>/operations (no time range)', async () => {
    const services = await getJson('/jaeger/api/services');
    jaegerShape(services, 'services');
    assert.deepEqual(services.data, [...new Set(data.map((s) => s.service))].sort());
    for (const svc of services.data) {
      const ops = await getJson(`/jaeger/api/services/${encodeURIComponent(svc)}/operations`);
      jaegerShape(ops, svc);
      assert.deepEqual(
        [...(ops.data as string[])].sort(),
        [...new Set(data.filter((s) => s.service === svc).map((s) => s.name))].sort(),
        svc,
      );
    }
  });

  test("Jaeger: search /api/traces (µs, sorted params, tags as a JSON object of strings) finds the data set's traces", async () => {
    const startUs = START_S * 1e6;
    const endUs = END_S * 1e6;
    const cases: { params: Record<string, string | number>; match: (s: DataSpan) => boolean }[] = [
      {
        params: {
          end: endUs,
          limit: 20,
          maxDuration: '2s',
          minDuration: '100ms',
          operation: 'POST /payments/charge',
          service: 'payments',
          start: startUs,
          tags: JSON.stringify({ 'http.method': 'POST' }),
        },
        match: (s) =>
          s.service === 'payments' &&
          s.name === 'POST /payments/charge' &&
          s.end - s.start >= 100_000_000n &&
          s.end - s.start <= 2_000_000_000n &&
          plain(s.attrs.get('http.method')) === 'POST',
      },
      {
        params: {
          end: endUs,
          limit: 500,
          service: 'payments',
          start: startUs,
          tags: JSON.stringify({ error: 'true' }),
        },
        match: (s) => s.service === 'payments' && s.status === 2,
      },
      {
        params: {
          end: endUs,
          limit: 500,
          service: 'api',
          start: startUs,
          tags: JSON.stringify({ 'http.status_code': '503' }),
        },
        match: (s) => s.service === 'api' && plain(s.attrs.get('http.status_code')) === '503',
      },
      {
        params: {
          end: endUs,
          limit: 500,
          service: 'frontend',
          start: startUs,
          tags: JSON.stringify({ 'deployment.environment': 'staging' }),
        },
        match: (s) =>
          s.service === 'frontend' && plain(s.resource.get('deployment.environment')) === 'staging',
      },
      {
        params: { end: endUs, limit: 5, lookback: '1h', service: 'db', start: startUs },
        match: (s) => s.service === 'db',
      },
      {
        params: { end: endUs, limit: 500, minDuration: '4s', service: 'frontend', start: startUs },
        match: (s) => s.service === 'frontend' && s.end - s.start >= 4_000_000_000n,
      },
      {
        // tags the trace view shows but the data does not hold as attributes
        params: {
          end: endUs,
          limit: 500,
          service: 'api',
          start: startUs,
          tags: JSON.stringify({ 'span.kind': 'client', 'otel.status_code': 'ERROR' }),
        },
        match: (s) => s.service === 'api' && s.kind === 3 && s.status === 2,
      },
    ];
    for (const c of cases) {
      const where = goQuery(c.params);
      const body = await getJson(`/jaeger/api/traces?${where}`);
      jaegerShape(body, where);
      const ids = new Set(data.filter(c.match).map((s) => s.traceId));
      const got = (body.data as Json[]).map((t) => t.traceID as string);
      assert.ok(ids.size > 0, `${where}: the case finds something`);
      assert.equal(got.length, Math.min(ids.size, Number(c.params.limit)), where);
      for (const id of got) assert.ok(ids.has(id), `${where}: ${id} does not match`);
      for (const t of body.data as Json[]) checkJaegerTrace(t, where);
    }
  });

  test('Jaeger: trace view /api/traces/<id> (start/end in ms when traceIdTimeParams is on) and dependencies', async () => {
    const ids = [...new Set(data.map((s) => s.traceId))].filter((_, i) => i % 40 === 0);
    for (const id of ids)
      for (const qs of ['', `?${goQuery({ end: END_S * 1000, start: START_S * 1000 })}`]) {
        const body = await getJson(`/jaeger/api/traces/${id}${qs}`);
        jaegerShape(body, id);
        assert.equal((body.data as unknown[]).length, 1);
        checkJaegerTrace((body.data as Json[])[0]!, id);
      }
    const deps = await getJson(
      `/jaeger/api/dependencies?${goQuery({ endTs: END_S * 1000, lookback: (END_S - START_S) * 1000 })}`,
    );
    jaegerShape(deps, 'dependencies');
    const byId = new Map(data.map((s) => [`${s.traceId}/${s.spanId}`, s]));
    const want = new Map<string, number>();
    for (const s of data) {
      const p = byId.get(`${s.traceId}/${s.parentSpanId}`);
      if (p && p.service !== s.service)
        want.set(`${p.service}>${s.service}`, (want.get(`${p.service}>${s.service}`) ?? 0) + 1);
    }
    const got = new Map(
      (deps.data as { parent: string; child: string; callCount: number }[]).map((d) => [
        `${d.parent}>${d.child}`,
        d.callCount,
      ]),
    );
    assert.deepEqual([...got].sort(), [...want].sort());
  });
});
