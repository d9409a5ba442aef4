/**
 * The HTTP listener: route lookup → authentication → org resolution → permission → handler.
 * One debug log line per request (route template, never the payload).
 */
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Authenticator } from '../auth/principal.ts';
import { isRoot } from '../auth/principal.ts';
import { queryLabels } from './self-metrics.ts';
import { influxAuthorization } from '../auth/influx-credentials.ts';
import { MoleError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ServerMetrics } from '../lib/metrics.ts';
import { forbidden, type OrgResolver } from '../tenancy/org-resolver.ts';
import { sendError, toMoleError } from './http-errors.ts';
import { withReadLease } from '../storage/object-store.ts';
import type { RequestContext, Router } from './router.ts';

export interface HttpDeps {
  router: Router;
  auth: Authenticator;
  orgs: OrgResolver;
  log: Logger;
  metrics: ServerMetrics;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** while draining, new requests get 503 */
  isDraining: () => boolean;
}

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS']);

export function createHttpServer(deps: HttpDeps): Server {
  const server = createServer(
    { headersTimeout: deps.headersTimeoutMs, requestTimeout: deps.requestTimeoutMs },
    (req, res) => {
      // disk-cache copies a request reads stay pinned until it is answered
      void withReadLease(() => handle(deps, req, res));
    },
  );
  server.keepAliveTimeout = 65_000;
  // WebSocket upgrades (Loki's live tail) take the same route, auth and org steps; an error is
  // written as an HTTP answer on the raw socket, which is then closed
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    void withReadLease(() => handle(deps, req, res, { socket, head }));
  });
  return server;
}

async function handle(
  deps: HttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  upgrade?: RequestContext['upgrade'],
): Promise<void> {
  const started = performance.now();
  const method = req.method ?? 'GET';
  let template = 'unmatched';
  let queryRoute = false;
  let otlpErrors = false;
  let errorBody: 'hec' | 'elastic' | 'influx' | undefined;
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const found = deps.router.match(method, url.pathname);
    if (found === null)
      throw new MoleError(`no route for ${url.pathname.slice(0, 200)}`, {
        code: 'MS_ERR_NO_ROUTE',
        status: 404,
        reason: 'not_found',
      });
    if (found === 'method-not-allowed')
      throw new MoleError(`method ${method.slice(0, 10)} is not allowed here`, {
        code: 'MS_ERR_METHOD',
        status: 405,
        reason: 'bad_request',
      });
    const { route, params } = found;
    template = route.path;
    queryRoute = route.access === 'query';
    otlpErrors = route.errorBody === 'otlp';
    if (route.errorBody === 'hec' || route.errorBody === 'elastic' || route.errorBody === 'influx')
      errorBody = route.errorBody;
    if (deps.isDraining() && route.access !== 'open') {
      throw new MoleError('server is shutting down; retry on another instance or after restart', {
        code: 'MS_ERR_DRAINING',
        status: 503,
        reason: 'unavailable',
        retryable: true,
      });
    }
    const ctx: RequestContext = {
      req,
      res,
      route,
      params,
      query: url.searchParams,
      principal: null,
      org: null,
      log: deps.log,
      ...(upgrade ? { upgrade } : {}),
    };
    if (upgrade && route.websocket !== true)
      throw new MoleError(`${route.path} does not accept a WebSocket upgrade`, {
        code: 'MS_ERR_NO_UPGRADE',
        status: 400,
        reason: 'bad_request',
      });
    if (route.access !== 'open') {
      const principal = await deps.auth.authenticate(
        route.credentials === 'influx'
          ? influxAuthorization(req.headers.authorization, url.searchParams)
          : req.headers.authorization,
        route.splunkAuth === true,
      );
      ctx.principal = principal;
      if (route.access === 'root' && !isRoot(principal)) throw forbidden('only the root user may do this');
      if (route.org === 'path') ctx.org = await deps.orgs.byName(principal, params.org ?? '');
      else if (route.org === 'implicit')
        ctx.org = await deps.orgs.implicit(principal, headerOf(req, 'x-scope-orgid'));
      if (ctx.org && route.access !== 'root' && route.access !== 'authenticated')
        deps.orgs.requireScope(principal, ctx.org, route.access);
    }
    await route.handler(ctx);
  } catch (e) {
    const err = toMoleError(e);
    if (err.status >= 500) deps.log.error({ err: e, route: template }, 'request failed');
    const protobuf = otlpErrors && /protobuf/i.test(headerOf(req, 'content-type') ?? '');
    sendError(res, err, errorBody ?? (protobuf ? 'protobuf' : 'json'), {
      authMissing: !req.headers.authorization,
    });
    if (err.status === 413) res.once('finish', () => req.destroy());
  } finally {
    const status = res.statusCode;
    if (queryRoute)
      deps.metrics.queryDuration.observe((performance.now() - started) / 1000, queryLabels(template));
    deps.metrics.httpRequests.inc({
      route: template,
      method: KNOWN_METHODS.has(method) ? method : 'OTHER',
      status: String(status),
    });
    deps.log.debug(
      {
        method: KNOWN_METHODS.has(method) ? method : 'OTHER',
        route: template,
        status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  }
}

export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
