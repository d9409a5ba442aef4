/** Route matching: `/api/:org/v1/logs` style templates, literal segments win over parameters. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Scope } from '../catalog/catalog.ts';
import type { OrgRow } from '../catalog/catalog.ts';
import type { Principal } from '../auth/principal.ts';
import type { Logger } from '../lib/logger.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';

/**
 * `access`: `open` (no credentials), `root` (root user only, no org), or the scope the credential
 * needs in the request's org. `org`: where the org comes from — `path` (`:org`), `implicit`
 * (X-Scope-OrgID, else the credential's default org), or `none`.
 */
export interface Route {
  method: Method;
  path: string;
  access: 'open' | 'root' | 'authenticated' | Scope;
  org: 'path' | 'implicit' | 'none';
  handler: (ctx: RequestContext) => Promise<void>;
  /**
   * `otlp`: errors to protobuf requests are google.rpc.Status messages; `hec`: Splunk HEC's
   * `{"text","code"}`; `elastic`: Elasticsearch's error shape and `X-Elastic-Product` header;
   * `influx`: InfluxDB's error JSON.
   */
  errorBody?: 'otlp' | 'hec' | 'elastic' | 'influx';
  /** Splunk HEC routes also take `Authorization: Splunk <api key>`. */
  splunkAuth?: boolean;
  /** `influx`: InfluxDB's credentials are accepted too (`Token <key>`, `?u=&p=`; src/auth/influx-credentials.ts) */
  credentials?: 'influx';
  /** the route accepts a WebSocket upgrade (the handler finds it in `ctx.upgrade`) */
  websocket?: boolean;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  params: Record<string, string>;
  query: URLSearchParams;
  principal: Principal | null;
  org: OrgRow | null;
  log: Logger;
  /** set for an HTTP upgrade request: the raw socket and the bytes read past the headers */
  upgrade?: { socket: Duplex; head: Buffer };
}

interface Compiled {
  route: Route;
  segments: string[];
}

export class Router {
  private readonly routes: Compiled[] = [];

  constructor(routes: readonly Route[]) {
    for (const route of routes) this.routes.push({ route, segments: route.path.split('/').slice(1) });
    // literal segments before parameters, so `/api/_admin/orgs` wins over `/api/:org/...`
    const rank = (c: Compiled) => c.segments.map((s) => (s.startsWith(':') ? '1' : '0')).join('');
    this.routes.sort((a, b) => rank(a).localeCompare(rank(b)));
  }

  get all(): readonly Route[] {
    return this.routes.map((c) => c.route);
  }

  match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | 'method-not-allowed' | null {
    const parts = path.split('/').slice(1);
    let pathMatched = false;
    for (const c of this.routes) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = c.segments[i]!;
        const part = parts[i]!;
        if (seg.startsWith(':')) {
          let decoded: string;
          try {
            decoded = decodeURIComponent(part);
          } catch {
            ok = false;
            break;
          }
          if (decoded === '') {
            ok = false;
            break;
          }
          params[seg.slice(1)] = decoded;
        } else if (seg !== part) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (c.route.method === method || (method === 'HEAD' && c.route.method === 'GET'))
        return { route: c.route, params };
    }
    return pathMatched ? 'method-not-allowed' : null;
  }
}
