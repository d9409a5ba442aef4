/**
 * The route table: every HTTP route with its access rule and where its org comes from.
 * Tests walk this table (RBAC matrix, IDOR sweep), so every route must be listed here.
 */
import type { Route } from './router.ts';
import type { RequestContext } from './router.ts';

type H = (ctx: RequestContext) => Promise<void>;

export interface RouteHandlers {
  healthz: H;
  readyz: H;
  metrics: H;
  otlpLogs: H;
  otlpTraces: H;
  otlpMetrics: H;
  remoteWrite: H;
  lokiPush: H;
  jsonDocs: { json: H; multi: H };
  hec: { event: H; raw: H; health: H };
  elastic: {
    bulk: H;
    info: H;
    license: H;
    xpack: H;
    clusterHealth: H;
    notFound: H;
    acknowledge: H;
  };
  /** Influx line protocol, Prometheus text push, VictoriaMetrics JSON lines import/export */
  metricImport: { influxV1: H; influxV2: H; influxPing: H; promText: H; vmImport: H; vmExport: H };
  zipkin: H;
  jaegerThrift: H;
  /** Tempo's API except search (src/traces/api/tempo.ts) */
  tempo: {
    echo: H;
    buildinfo: H;
    traceV1: H;
    traceV2: H;
    tagsV1: H;
    tagsV2: H;
    tagValuesV1: H;
    tagValuesV2: H;
  };
  /** Jaeger query API under /jaeger and Zipkin's (src/traces/api/jaeger-zipkin.ts) */
  traceQuery: {
    jaeger: { services: H; serviceOperations: H; operations: H; traces: H; trace: H; dependencies: H };
    zipkin: { services: H; spans: H; traces: H; trace: H; dependencies: H };
  };
  prom: {
    query: H;
    queryRange: H;
    series: H;
    labels: H;
    labelValues: H;
    metadata: H;
    queryExemplars: H;
    formatQuery: H;
    buildinfo: H;
    tsdbStatus: H;
    rules: H;
    alerts: H;
  };
  /** Tempo's search: TraceQL and legacy tags (src/traces/traceql/api.ts) */
  traceSearch: H;
  /** LogQL: Loki's query and query_range */
  lokiQuery: { query: H; queryRange: H };
  /** the Loki HTTP API other than query/query_range (src/logql/api/handlers.ts) */
  lokiApi: {
    labels: H;
    labelValues: H;
    series: H;
    indexStats: H;
    volume: H;
    volumeRange: H;
    patterns: H;
    detectedFields: H;
    detectedLabels: H;
    detectedFieldValues: H;
    drilldownLimits: H;
    formatQuery: H;
    buildinfo: H;
    tail: H;
  };
  search: H;
  /** cross-signal links (src/correlation/) */
  correlation: H;
  streams: { list: H; schema: H; settings: H; flush: H };
  admin: { listOrgs: H; createOrg: H; listUsers: H; addUser: H; listKeys: H; createKey: H; revokeKey: H };
  /** compaction, org settings (retention), deletes (src/compactor/handlers.ts) */
  compactor: { compact: H; getSettings: H; putSettings: H; delete: H; lokiDelete: H };
}

/** The Prometheus HTTP API, at `/api/v1/...` (org from X-Scope-OrgID or the credential) and `/api/{org}/prometheus/api/v1/...`. */
function promRoutes(h: RouteHandlers['prom']): Route[] {
  const list: [string, H, ('GET' | 'POST')[]][] = [
    ['query', h.query, ['GET', 'POST']],
    ['query_range', h.queryRange, ['GET', 'POST']],
    ['series', h.series, ['GET', 'POST']],
    ['labels', h.labels, ['GET', 'POST']],
    ['label/:name/values', h.labelValues, ['GET']],
    ['metadata', h.metadata, ['GET']],
    ['query_exemplars', h.queryExemplars, ['GET', 'POST']],
    ['format_query', h.formatQuery, ['GET', 'POST']],
    ['status/buildinfo', h.buildinfo, ['GET']],
    ['status/tsdb', h.tsdbStatus, ['GET']],
    ['rules', h.rules, ['GET']],
    ['alerts', h.alerts, ['GET']],
  ];
  const routes: Route[] = [];
  for (const [path, handler, methods] of list) {
    for (const method of methods) {
      routes.push({ method, path: `/api/v1/${path}`, access: 'query', org: 'implicit', handler });
      routes.push({
        method,
        path: `/api/:org/prometheus/api/v1/${path}`,
        access: 'query',
        org: 'path',
        handler,
      });
    }
  }
  return routes;
}

/** Loki's query and query_range at `/loki/api/v1/...` (org implicit) and `/api/{org}/loki/api/v1/...`. */
function lokiQueryRoutes(h: RouteHandlers['lokiQuery']): Route[] {
  const routes: Route[] = [];
  for (const [path, handler] of [
    ['query', h.query],
    ['query_range', h.queryRange],
  ] as const) {
    for (const method of ['GET', 'POST'] as const) {
      routes.push({ method, path: `/loki/api/v1/${path}`, access: 'query', org: 'implicit', handler });
      routes.push({ method, path: `/api/:org/loki/api/v1/${path}`, access: 'query', org: 'path', handler });
    }
  }
  return routes;
}

/** The Loki HTTP API (org from X-Scope-OrgID or the credential), except query/query_range. */
function lokiApiRoutes(h: RouteHandlers['lokiApi']): Route[] {
  const list: [string, H, ('GET' | 'POST')[]][] = [
    ['labels', h.labels, ['GET', 'POST']],
    ['label/:name/values', h.labelValues, ['GET']],
    ['series', h.series, ['GET', 'POST']],
    ['index/stats', h.indexStats, ['GET', 'POST']],
    ['index/volume', h.volume, ['GET', 'POST']],
    ['index/volume_range', h.volumeRange, ['GET', 'POST']],
    ['patterns', h.patterns, ['GET', 'POST']],
    ['detected_fields', h.detectedFields, ['GET']],
    ['detected_labels', h.detectedLabels, ['GET']],
    ['detected_field/:name/values', h.detectedFieldValues, ['GET']],
    ['drilldown-limits', h.drilldownLimits, ['GET']],
    ['format_query', h.formatQuery, ['GET', 'POST']],
    ['status/buildinfo', h.buildinfo, ['GET']],
  ];
  return [
    ...list.flatMap(([path, handler, methods]) =>
      methods.map((method): Route => ({
        method,
        path: `/loki/api/v1/${path}`,
        access: 'query',
        org: 'implicit',
        handler,
      })),
    ),
    // v2alpha/tail: the path Grafana's experimental backend streaming dials; the same protocol
    ...['/loki/api/v1/tail', '/loki/api/v2alpha/tail'].map((path): Route => ({
      method: 'GET',
      path,
      access: 'query',
      org: 'implicit',
      handler: h.tail,
      websocket: true,
    })),
  ];
}

/** Log ingest other than OTLP: Loki push, plain JSON, Splunk HEC, Elasticsearch. */
function logIngestRoutes(h: RouteHandlers): Route[] {
  const ingest = (method: 'POST', path: string, handler: H): Route => ({
    method,
    path,
    access: 'ingest',
    org: path.startsWith('/api/:org/') ? 'path' : 'implicit',
    handler,
  });
  return [
    ingest('POST', '/loki/api/v1/push', h.lokiPush),
    ingest('POST', '/api/:org/loki/api/v1/push', h.lokiPush),
    ingest('POST', '/api/:org/:stream/_json', h.jsonDocs.json),
    ingest('POST', '/api/:org/:stream/_multi', h.jsonDocs.multi),
    ...[
      '/services/collector',
      '/services/collector/event',
      '/services/collector/event/1.0',
      '/api/:org/_hec',
    ].map((path): Route => ({ ...ingest('POST', path, h.hec.event), errorBody: 'hec', splunkAuth: true })),
    { ...ingest('POST', '/services/collector/raw', h.hec.raw), errorBody: 'hec', splunkAuth: true },
    { method: 'GET', path: '/services/collector/health', access: 'open', org: 'none', handler: h.hec.health },
    ...elasticRoutes(h.elastic),
  ];
}

/** Elasticsearch `_bulk` and the handshake calls of Beats, Logstash, Vector and Fluent Bit. */
function elasticRoutes(h: RouteHandlers['elastic']): Route[] {
  const list: ['GET' | 'POST' | 'PUT', string, H][] = [
    ['POST', '/_bulk', h.bulk],
    ['POST', '/:index/_bulk', h.bulk],
    ['POST', '/api/:org/_bulk', h.bulk],
    ['GET', '/', h.info],
    ['GET', '/_license', h.license],
    ['GET', '/_xpack', h.xpack],
    ['GET', '/_cluster/health', h.clusterHealth],
  ];
  for (const kind of ['/_index_template/:name', '/_template/:name', '/_ilm/policy/:name']) {
    list.push(['GET', kind, h.notFound], ['PUT', kind, h.acknowledge]);
  }
  return list.map(([method, path, handler]) => ({
    method,
    path,
    access: 'ingest',
    org: path.startsWith('/api/:org/') ? 'path' : 'implicit',
    handler,
    errorBody: 'elastic',
  }));
}

/**
 * Metric push protocols at the paths their clients use (org implicit) and under `/api/{org}/...`:
 * InfluxDB v1 `/write` and v2 `/api/v2/write` (Influx credentials and error bodies), Prometheus
 * text and VictoriaMetrics JSON lines import, and the JSON lines export (a read).
 */
function metricImportRoutes(h: RouteHandlers['metricImport']): Route[] {
  const influx = { access: 'ingest', errorBody: 'influx', credentials: 'influx' } as const;
  const ingest = (path: string, handler: H, org: 'path' | 'implicit'): Route => ({
    method: 'POST',
    path,
    access: 'ingest',
    org,
    handler,
  });
  return [
    { method: 'POST', path: '/write', org: 'implicit', handler: h.influxV1, ...influx },
    { method: 'POST', path: '/api/v2/write', org: 'implicit', handler: h.influxV2, ...influx },
    { method: 'POST', path: '/api/:org/influx/write', org: 'path', handler: h.influxV1, ...influx },
    { method: 'POST', path: '/api/:org/influx/api/v2/write', org: 'path', handler: h.influxV2, ...influx },
    { method: 'GET', path: '/ping', access: 'open', org: 'none', handler: h.influxPing },
    ingest('/api/v1/import/prometheus', h.promText, 'implicit'),
    ingest('/api/:org/prometheus/api/v1/import/prometheus', h.promText, 'path'),
    ingest('/api/v1/import', h.vmImport, 'implicit'),
    ingest('/api/:org/prometheus/api/v1/import', h.vmImport, 'path'),
    ...(['GET', 'POST'] as const).flatMap((method): Route[] => [
      { method, path: '/api/v1/export', access: 'query', org: 'implicit', handler: h.vmExport },
      {
        method,
        path: '/api/:org/prometheus/api/v1/export',
        access: 'query',
        org: 'path',
        handler: h.vmExport,
      },
    ]),
  ];
}

/** A GET query route; under `/api/:org/` the org comes from the path, else it is implicit. */
const queryGet = (path: string, handler: H): Route => ({
  method: 'GET',
  path,
  access: 'query',
  org: path.startsWith('/api/:org/') ? 'path' : 'implicit',
  handler,
});

/**
 * Tempo's trace by id, tags, echo and build info: at Tempo's paths (org implicit: Grafana's Tempo
 * data source) and again under `/api/{org}/tempo`, as for Prometheus and Loki.
 */
function tempoRoutes(h: RouteHandlers['tempo']): Route[] {
  const routes: [string, H][] = [
    ['/api/echo', h.echo],
    ['/api/status/buildinfo', h.buildinfo],
    ['/api/traces/:id', h.traceV1],
    ['/api/v2/traces/:id', h.traceV2],
    ['/api/search/tags', h.tagsV1],
    ['/api/v2/search/tags', h.tagsV2],
    ['/api/search/tag/:tag/values', h.tagValuesV1],
    ['/api/v2/search/tag/:tag/values', h.tagValuesV2],
  ];
  return routes.flatMap(([path, handler]) => [
    queryGet(path, handler),
    queryGet(`/api/:org/tempo${path}`, handler),
  ]);
}

/**
 * Jaeger's query API under /jaeger and /api/{org}/jaeger; Zipkin's at /api/v2/... (GET; POST
 * /api/v2/spans is ingest), /zipkin/api/v2/... and /api/{org}/zipkin/api/v2/...
 */
function traceQueryRoutes(h: RouteHandlers['traceQuery']): Route[] {
  const j = h.jaeger;
  const z = h.zipkin;
  return [
    ...['/jaeger/api', '/api/:org/jaeger/api'].flatMap((base) => [
      queryGet(`${base}/services`, j.services),
      queryGet(`${base}/services/:service/operations`, j.serviceOperations),
      queryGet(`${base}/operations`, j.operations),
      queryGet(`${base}/traces`, j.traces),
      queryGet(`${base}/traces/:id`, j.trace),
      queryGet(`${base}/dependencies`, j.dependencies),
    ]),
    ...['/api/v2', '/zipkin/api/v2', '/api/:org/zipkin/api/v2'].flatMap((base) => [
      queryGet(`${base}/services`, z.services),
      queryGet(`${base}/spans`, z.spans),
      queryGet(`${base}/traces`, z.traces),
      queryGet(`${base}/trace/:id`, z.trace),
      queryGet(`${base}/dependencies`, z.dependencies),
    ]),
  ];
}

export function buildRoutes(h: RouteHandlers): Route[] {
  return [
    ...traceQueryRoutes(h.traceQuery),
    ...tempoRoutes(h.tempo),
    ...promRoutes(h.prom),
    ...lokiApiRoutes(h.lokiApi),
    ...metricImportRoutes(h.metricImport),
    { method: 'GET', path: '/healthz', access: 'open', org: 'none', handler: h.healthz },
    { method: 'GET', path: '/readyz', access: 'open', org: 'none', handler: h.readyz },
    { method: 'GET', path: '/ready', access: 'open', org: 'none', handler: h.readyz },
    { method: 'GET', path: '/metrics', access: 'open', org: 'none', handler: h.metrics },

    {
      method: 'POST',
      path: '/v1/logs',
      access: 'ingest',
      org: 'implicit',
      handler: h.otlpLogs,
      errorBody: 'otlp',
    },
    {
      method: 'POST',
      path: '/v1/traces',
      access: 'ingest',
      org: 'implicit',
      handler: h.otlpTraces,
      errorBody: 'otlp',
    },
    {
      method: 'POST',
      path: '/v1/metrics',
      access: 'ingest',
      org: 'implicit',
      handler: h.otlpMetrics,
      errorBody: 'otlp',
    },
    {
      method: 'POST',
      path: '/api/:org/v1/metrics',
      access: 'ingest',
      org: 'path',
      handler: h.otlpMetrics,
      errorBody: 'otlp',
    },
    // Prometheus' own OTLP receiver path, so a Collector or SDK pointed at Prometheus works unchanged.
    {
      method: 'POST',
      path: '/api/v1/otlp/v1/metrics',
      access: 'ingest',
      org: 'implicit',
      handler: h.otlpMetrics,
      errorBody: 'otlp',
    },
    {
      method: 'POST',
      path: '/api/:org/v1/logs',
      access: 'ingest',
      org: 'path',
      handler: h.otlpLogs,
      errorBody: 'otlp',
    },
    {
      method: 'POST',
      path: '/api/:org/v1/traces',
      access: 'ingest',
      org: 'path',
      handler: h.otlpTraces,
      errorBody: 'otlp',
    },

    { method: 'POST', path: '/api/v1/write', access: 'ingest', org: 'implicit', handler: h.remoteWrite },
    // Zipkin v2 spans and Jaeger Thrift batches: the paths their clients use by default, and
    // /api/{org}/<protocol>/<that path>, as for Prometheus
    { method: 'POST', path: '/api/v2/spans', access: 'ingest', org: 'implicit', handler: h.zipkin },
    {
      method: 'POST',
      path: '/api/:org/zipkin/api/v2/spans',
      access: 'ingest',
      org: 'path',
      handler: h.zipkin,
    },
    { method: 'POST', path: '/api/traces', access: 'ingest', org: 'implicit', handler: h.jaegerThrift },
    {
      method: 'POST',
      path: '/api/:org/jaeger/api/traces',
      access: 'ingest',
      org: 'path',
      handler: h.jaegerThrift,
    },
    {
      method: 'POST',
      path: '/api/:org/prometheus/api/v1/write',
      access: 'ingest',
      org: 'path',
      handler: h.remoteWrite,
    },

    ...logIngestRoutes(h),
    ...lokiQueryRoutes(h.lokiQuery),
    queryGet('/api/search', h.traceSearch),
    queryGet('/api/:org/tempo/api/search', h.traceSearch),

    { method: 'POST', path: '/api/:org/_search', access: 'query', org: 'path', handler: h.search },
    {
      method: 'GET',
      path: '/api/v1/web/correlation/:from/:to',
      access: 'query',
      org: 'implicit',
      handler: h.correlation,
    },
    {
      method: 'GET',
      path: '/api/:org/v1/web/correlation/:from/:to',
      access: 'query',
      org: 'path',
      handler: h.correlation,
    },
    { method: 'GET', path: '/api/:org/streams', access: 'query', org: 'path', handler: h.streams.list },
    {
      method: 'GET',
      path: '/api/:org/streams/:stream/schema',
      access: 'query',
      org: 'path',
      handler: h.streams.schema,
    },
    {
      method: 'PUT',
      path: '/api/:org/streams/:stream/settings',
      access: 'admin',
      org: 'path',
      handler: h.streams.settings,
    },
    {
      method: 'POST',
      path: '/api/:org/streams/:stream/_flush',
      access: 'ingest',
      org: 'path',
      handler: h.streams.flush,
    },

    { method: 'GET', path: '/api/_admin/orgs', access: 'root', org: 'none', handler: h.admin.listOrgs },
    { method: 'POST', path: '/api/_admin/orgs', access: 'root', org: 'none', handler: h.admin.createOrg },
    { method: 'GET', path: '/api/:org/_users', access: 'admin', org: 'path', handler: h.admin.listUsers },
    { method: 'POST', path: '/api/:org/_users', access: 'admin', org: 'path', handler: h.admin.addUser },
    { method: 'GET', path: '/api/:org/_keys', access: 'admin', org: 'path', handler: h.admin.listKeys },
    { method: 'POST', path: '/api/:org/_keys', access: 'admin', org: 'path', handler: h.admin.createKey },
    {
      method: 'DELETE',
      path: '/api/:org/_keys/:id',
      access: 'admin',
      org: 'path',
      handler: h.admin.revokeKey,
    },
    ...compactorRoutes(h.compactor),
  ];
}

/** Compaction, org settings and deletes (org admins); Loki's delete API at its own path too. */
function compactorRoutes(h: RouteHandlers['compactor']): Route[] {
  const at = (method: 'GET' | 'PUT' | 'POST', path: string, handler: H): Route => ({
    method,
    path,
    access: 'admin',
    org: 'path',
    handler,
  });
  return [
    at('POST', '/api/:org/_compact', h.compact),
    at('GET', '/api/:org/_settings', h.getSettings),
    at('PUT', '/api/:org/_settings', h.putSettings),
    at('POST', '/api/:org/_delete', h.delete),
    at('POST', '/api/:org/loki/api/v1/delete', h.lokiDelete),
    { method: 'POST', path: '/loki/api/v1/delete', access: 'admin', org: 'implicit', handler: h.lokiDelete },
  ];
}
