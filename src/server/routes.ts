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
  zipkin: H;
  jaegerThrift: H;
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
  search: H;
  streams: { list: H; schema: H; settings: H; flush: H };
  admin: { listOrgs: H; createOrg: H; listUsers: H; addUser: H; listKeys: H; createKey: H; revokeKey: H };
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

export function buildRoutes(h: RouteHandlers): Route[] {
  return [
    ...promRoutes(h.prom),
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

    { method: 'POST', path: '/api/:org/_search', access: 'query', org: 'path', handler: h.search },
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
  ];
}
