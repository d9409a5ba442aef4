/**
 * The traces workload of `npm run bench -- traces`: realistic traces from a seeded PRNG, encoded as
 * OTLP/HTTP protobuf ExportTraceServiceRequests of about `batch` spans each (whole traces per
 * request, as a collector's batch processor sends them), and the ground truth the suite checks.
 *
 * Topology (8 services, each with 2–3 pods on 4 nodes): frontend → api → auth, cache (redis),
 * db (postgres), payments, queue (kafka) → worker → db. A trace is one user request: frontend SERVER
 * → frontend CLIENT → api SERVER → 1–4 cache calls, 1 auth call (which reads the cache, sometimes the
 * db), 2–14 db queries, on checkout routes a payments call (which queries the db) and a message
 * published to the queue and processed by the worker (with its own db writes); 10–50 spans per
 * trace. Span durations are log-normal per operation and nest (a parent lasts its children plus its
 * own time). ~2 % of spans fail (status ERROR, an exception event, HTTP 5xx on HTTP spans).
 */
import { ProtobufWriter as W } from '../../src/lib/protobuf-writer.ts';
import { normal, seededRandom } from './tsbs-data.ts';

type Value = string | number | boolean;
type Attrs = Record<string, Value>;

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

export interface WorkloadOptions {
  /** at least this many spans (whole traces) */
  spans: number;
  seed: number;
  /** spans per request, about */
  batch: number;
  /** traces start evenly over [endMs - windowMs, endMs - 60 s) */
  endMs: number;
  windowMs: number;
}

export interface TraceWorkload {
  spans: number;
  traces: number;
  requests: Uint8Array[];
  wireBytes: number;
  /** every trace id (hex) and its span count, in start order */
  traceIds: string[];
  spanCounts: Uint16Array;
  startNs: bigint;
  endNs: bigint;
  /** traces with at least one span matching each search of SEARCHES */
  truth: Record<string, number>;
  errorSpans: number;
  /** spans whose parent (same trace) is in another service: the dependencies' total call count */
  calls: number;
}

/** The searches the suite runs, as TraceQL and as SQL over the traces stream; the generator counts the traces each matches. */
export interface TraceSearch {
  id: string;
  traceql: string;
  /** a SQL condition over one span row */
  sqlWhere: string;
  match: (s: SpanDraft) => boolean;
}

/** A slow span: above this duration (ns) is about 1 % of spans. */
export const SLOW_NS = 150_000_000n;

export const SEARCHES: TraceSearch[] = [
  {
    id: 'by service',
    traceql: '{ resource.service.name = "payments" }',
    sqlWhere: `"resource.service.name" = 'payments'`,
    match: (s) => s.service === 'payments',
  },
  {
    id: 'by service + operation',
    traceql: '{ resource.service.name = "api" && name = "POST /api/checkout" }',
    sqlWhere: `"resource.service.name" = 'api' AND name = 'POST /api/checkout'`,
    match: (s) => s.service === 'api' && s.name === 'POST /api/checkout',
  },
  {
    id: 'by duration > 150ms',
    traceql: '{ duration > 150ms }',
    sqlWhere: `duration_ns > ${SLOW_NS}`,
    match: (s) => s.durationNs > SLOW_NS,
  },
  {
    id: 'by attribute (http status 500)',
    traceql: '{ span.http.response.status_code = 500 }',
    sqlWhere: `"attr.http.response.status_code" = 500`,
    match: (s) => s.attrs['http.response.status_code'] === 500,
  },
  {
    id: 'by attribute (error status, db.system=postgresql)',
    traceql: '{ status = error && span.db.system = "postgresql" }',
    sqlWhere: `status_code = 2 AND "attr.db.system" = 'postgresql'`,
    match: (s) => s.error && s.attrs['db.system'] === 'postgresql',
  },
];

interface Service {
  name: string;
  pods: { pod: string; host: string }[];
  version: string;
}

const SERVICE_NAMES = ['frontend', 'api', 'auth', 'db', 'cache', 'payments', 'queue', 'worker'];

export interface SpanDraft {
  service: string;
  pod: number;
  spanId: Uint8Array;
  parentId: Uint8Array | null;
  name: string;
  kind: number;
  startNs: bigint;
  durationNs: bigint;
  attrs: Attrs;
  error: boolean;
}

const ROUTES: [string, string, number][] = [
  // method, route, weight
  ['GET', '/api/products', 30],
  ['GET', '/api/products/{id}', 25],
  ['GET', '/api/cart', 15],
  ['POST', '/api/cart/items', 10],
  ['POST', '/api/checkout', 8],
  ['GET', '/api/orders', 7],
  ['GET', '/api/users/{id}', 5],
];
const TABLES = ['products', 'orders', 'order_items', 'users', 'carts', 'inventory', 'payments'];
const DB_OPS = ['SELECT', 'SELECT', 'SELECT', 'INSERT', 'UPDATE'];
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
];

class TraceBuilder {
  private readonly rand: () => number;
  private readonly gauss: () => number;
  readonly services: Map<string, Service>;
  spans: SpanDraft[] = [];

  constructor(seed: number) {
    this.rand = seededRandom(seed);
    this.gauss = normal(this.rand);
    this.services = new Map(
      SERVICE_NAMES.map((name, i) => {
        const n = 2 + (i % 2);
        const hash = Math.floor(this.rand() * 0xffffff).toString(16).padStart(6, '0');
        return [
          name,
          {
            name,
            version: `1.${i}.${Math.floor(this.rand() * 20)}`,
            pods: Array.from({ length: n }, (_, k) => ({
              pod: `${name}-${hash}9f-${Math.floor(this.rand() * 36 ** 5).toString(36).padStart(5, '0')}`,
              host: `ip-10-0-${(i + k) % 4}-${10 + ((i * 7 + k * 3) % 50)}.ec2.internal`,
            })),
          },
        ];
      }),
    );
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  id(bytes: number): Uint8Array {
    const b = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 4) {
      const x = Math.floor(this.rand() * 2 ** 32);
      for (let k = 0; k < 4 && i + k < bytes; k++) b[i + k] = (x >>> (8 * k)) & 0xff;
    }
    return b;
  }

  /** log-normal duration in ns with the given median (ms) and shape */
  dur(medianMs: number, sigma = 0.6): bigint {
    return BigInt(Math.max(1000, Math.round(medianMs * 1e6 * Math.exp(sigma * this.gauss()))));
  }

  private fails(): boolean {
    return this.rand() < 0.02;
  }

  /**
   * Adds a span whose children are laid out one after another from `startNs + gap`; its duration
   * is the children's plus its own `selfNs`. Returns the span (durations fixed after children).
   */
  private span(
    service: string,
    parent: SpanDraft | null,
    name: string,
    kind: number,
    startNs: bigint,
    attrs: Attrs,
    selfNs: bigint,
    children: ((parent: SpanDraft, at: bigint) => SpanDraft)[] = [],
  ): SpanDraft {
    const s: SpanDraft = {
      service,
      pod: this.int(this.services.get(service)!.pods.length),
      spanId: this.id(8),
      parentId: parent?.spanId ?? null,
      name,
      kind,
      startNs,
      durationNs: 0n,
      attrs,
      error: this.fails(),
    };
    this.spans.push(s);
    let at = startNs + selfNs / 4n;
    for (const c of children) {
      const child = c(s, at);
      at = child.startNs + child.durationNs + BigInt(20_000 + this.int(200_000));
    }
    s.durationNs = at - startNs + (selfNs * 3n) / 4n;
    if (s.error && 'http.response.status_code' in attrs) s.attrs['http.response.status_code'] = s.kind === SERVER ? 500 : 503;
    return s;
  }

  private http(
    from: string,
    to: string,
    method: string,
    route: string,
    path: string,
    parent: SpanDraft,
    at: bigint,
    serverChildren: ((p: SpanDraft, at: bigint) => SpanDraft)[],
  ): SpanDraft {
    const port = 8080;
    return this.span(
      from,
      parent,
      method,
      CLIENT,
      at,
      {
        'http.request.method': method,
        'url.full': `http://${to}:${port}${path}`,
        'server.address': to,
        'server.port': port,
        'http.response.status_code': method === 'POST' ? 201 : 200,
      },
      this.dur(0.3, 0.4),
      [
        (p, t) =>
          this.span(
            to,
            p,
            `${method} ${route}`,
            SERVER,
            t + BigInt(50_000 + this.int(150_000)),
            {
              'http.request.method': method,
              'http.route': route,
              'url.path': path,
              'http.response.status_code': method === 'POST' ? 201 : 200,
              'network.protocol.version': '1.1',
            },
            this.dur(1.5),
            serverChildren,
          ),
      ],
    );
  }

  private db(from: string, parent: SpanDraft, at: bigint): SpanDraft {
    const table = TABLES[this.int(TABLES.length)]!;
    const op = DB_OPS[this.int(DB_OPS.length)]!;
    const statement =
      op === 'SELECT'
        ? `SELECT * FROM ${table} WHERE id = $1`
        : op === 'INSERT'
          ? `INSERT INTO ${table} (id, data, created_at) VALUES ($1, $2, now())`
          : `UPDATE ${table} SET data = $2, updated_at = now() WHERE id = $1`;
    const attrs: Attrs = {
      'db.system': 'postgresql',
      'db.name': 'shop',
      'db.operation': op,
      'db.sql.table': table,
      'db.statement': statement,
      'server.address': 'db',
      'server.port': 5432,
    };
    return this.span(from, parent, `${op} shop.${table}`, CLIENT, at, attrs, this.dur(0.2, 0.3), [
      (p, t) =>
        this.span('db', p, `postgres ${op}`, SERVER, t + 30_000n, { 'db.system': 'postgresql', 'db.operation': op, 'db.rows': this.int(200) }, this.dur(op === 'SELECT' ? 2 : 4, 0.9)),
    ]);
  }

  private cache(from: string, parent: SpanDraft, at: bigint): SpanDraft {
    const op = this.rand() < 0.8 ? 'GET' : 'SET';
    const key = `session:${this.int(100_000)}`;
    return this.span(
      from,
      parent,
      op,
      CLIENT,
      at,
      { 'db.system': 'redis', 'db.operation': op, 'db.statement': `${op} ${key}`, 'server.address': 'cache', 'server.port': 6379 },
      this.dur(0.1, 0.3),
      [(p, t) => this.span('cache', p, `redis ${op}`, SERVER, t + 20_000n, { 'db.system': 'redis', 'db.operation': op, 'cache.hit': this.rand() < 0.85 }, this.dur(0.15, 0.5))],
    );
  }

  /** One trace; its spans are in `this.spans` (cleared by the caller). */
  trace(startNs: bigint): void {
    let w = this.int(100);
    let r = ROUTES[0]!;
    for (const x of ROUTES) {
      if (w < x[2]) {
        r = x;
        break;
      }
      w -= x[2];
    }
    const [method, route] = r;
    const path = route.replace('{id}', String(1 + this.int(50_000)));
    const checkout = route === '/api/checkout';
    const orderId = `ord-${this.int(1e9).toString(36)}`;
    const userId = `u-${this.int(250_000)}`;
    const dbCalls = 2 + this.int(checkout ? 8 : 13);
    const cacheCalls = 1 + this.int(4);
    const apiChildren: ((p: SpanDraft, at: bigint) => SpanDraft)[] = [];
    for (let i = 0; i < cacheCalls; i++) apiChildren.push((p, t) => this.cache('api', p, t));
    apiChildren.push((p, t) =>
      this.http('api', 'auth', 'POST', '/v1/authorize', '/v1/authorize', p, t, [
        (p2, t2) => this.cache('auth', p2, t2),
        ...(this.rand() < 0.3 ? [(p2: SpanDraft, t2: bigint) => this.db('auth', p2, t2)] : []),
      ]),
    );
    for (let i = 0; i < dbCalls; i++) apiChildren.push((p, t) => this.db('api', p, t));
    if (checkout) {
      apiChildren.push((p, t) =>
        this.http('api', 'payments', 'POST', '/v1/charges', '/v1/charges', p, t, [
          (p2, t2) => this.db('payments', p2, t2),
          (p2, t2) =>
            this.span('payments', p2, 'stripe.charge', CLIENT, t2, { 'peer.service': 'stripe', 'payment.amount_cents': 500 + this.int(50_000), 'payment.currency': 'EUR' }, this.dur(40, 0.7)),
        ]),
      );
      apiChildren.push((p, t) =>
        this.span(
          'api',
          p,
          'orders publish',
          PRODUCER,
          t,
          {
            'messaging.system': 'kafka',
            'messaging.operation': 'publish',
            'messaging.destination.name': 'orders',
            'messaging.kafka.destination.partition': this.int(12),
            'messaging.message.id': orderId,
          },
          this.dur(0.5, 0.4),
          [
            (p2, t2) =>
              this.span('queue', p2, 'orders deliver', CONSUMER, t2 + 100_000n, { 'messaging.system': 'kafka', 'messaging.operation': 'receive', 'messaging.destination.name': 'orders' }, this.dur(0.4, 0.4), [
                (p3, t3) =>
                  this.span(
                    'worker',
                    p3,
                    'orders process',
                    CONSUMER,
                    t3 + this.dur(3, 1),
                    { 'messaging.system': 'kafka', 'messaging.operation': 'process', 'messaging.destination.name': 'orders', 'messaging.message.id': orderId, 'app.order_id': orderId },
                    this.dur(2),
                    [(p4, t4) => this.db('worker', p4, t4), (p4, t4) => this.db('worker', p4, t4)],
                  ),
              ]),
          ],
        ),
      );
    }
    this.span(
      'frontend',
      null,
      `${method} ${route}`,
      SERVER,
      startNs,
      {
        'http.request.method': method,
        'http.route': route,
        'url.path': path,
        'http.response.status_code': method === 'POST' ? 201 : 200,
        'user_agent.original': BROWSERS[this.int(BROWSERS.length)]!,
        'client.address': `203.0.113.${this.int(255)}`,
        'app.user_id': userId,
      },
      this.dur(2),
      [(p, t) => this.http('frontend', 'api', method, route, path, p, t, apiChildren)],
    );
  }
}

// ---------------------------------------------------------------------------------------------
// OTLP protobuf (field numbers from opentelemetry-proto trace/v1, common/v1, resource/v1)

function anyValue(v: Value): W {
  if (typeof v === 'boolean') return new W().uint(2, v ? 1 : 0);
  if (typeof v === 'number') return Number.isInteger(v) ? new W().uint(3, v) : new W().double(4, v);
  return new W().string(1, v);
}
const keyValue = (k: string, v: Value): W => new W().string(1, k).message(2, anyValue(v));

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function encodeRequest(spans: readonly SpanDraft[], traceIdOf: Map<SpanDraft, Uint8Array>, services: Map<string, Service>): Uint8Array {
  const groups = new Map<string, SpanDraft[]>();
  for (const s of spans) {
    const k = `${s.service}/${s.pod}`;
    const g = groups.get(k);
    if (g) g.push(s);
    else groups.set(k, [s]);
  }
  const req = new W();
  for (const group of groups.values()) {
    const svc = services.get(group[0]!.service)!;
    const pod = svc.pods[group[0]!.pod]!;
    const resource = new W()
      .message(1, keyValue('service.name', svc.name))
      .message(1, keyValue('service.version', svc.version))
      .message(1, keyValue('host.name', pod.host))
      .message(1, keyValue('k8s.pod.name', pod.pod))
      .message(1, keyValue('k8s.namespace.name', 'shop'))
      .message(1, keyValue('deployment.environment', 'production'))
      .message(1, keyValue('telemetry.sdk.language', 'nodejs'));
    const scope = new W().message(1, new W().string(1, `shop.${svc.name}`).string(2, '1.0.0'));
    for (const s of group) {
      const sp = new W().bytesField(1, traceIdOf.get(s)!).bytesField(2, s.spanId);
      if (s.parentId) sp.bytesField(4, s.parentId);
      sp.string(5, s.name).uint(6, s.kind);
      sp.fixed64(7, s.startNs).fixed64(8, s.startNs + s.durationNs);
      for (const [k, v] of Object.entries(s.attrs)) sp.message(9, keyValue(k, v));
      if (s.error) {
        sp.message(
          11,
          new W()
            .fixed64(1, s.startNs + s.durationNs)
            .string(2, 'exception')
            .message(3, keyValue('exception.type', 'Error'))
            .message(3, keyValue('exception.message', `${s.name} failed: upstream reset`)),
        );
        sp.message(15, new W().string(2, 'upstream reset').uint(3, 2));
      } else if (s.kind === SERVER) sp.message(15, new W().uint(3, 1));
      scope.message(2, sp);
    }
    req.message(1, new W().message(1, resource).message(2, scope));
  }
  return req.finish();
}

export function generateTraceWorkload(o: WorkloadOptions): TraceWorkload {
  const b = new TraceBuilder(o.seed);
  // ~30 spans per trace on average; traces start evenly over the window
  const estTraces = Math.ceil(o.spans / 30);
  const t0 = BigInt(o.endMs - o.windowMs) * 1_000_000n;
  const stepNs = (BigInt(o.windowMs - 60_000) * 1_000_000n) / BigInt(estTraces);
  const requests: Uint8Array[] = [];
  const traceIds: string[] = [];
  const counts: number[] = [];
  const truth: Record<string, number> = Object.fromEntries(SEARCHES.map((s) => [s.id, 0]));
  let pending: SpanDraft[] = [];
  const traceIdOf = new Map<SpanDraft, Uint8Array>();
  let spans = 0;
  let errorSpans = 0;
  let calls = 0;
  let wireBytes = 0;
  let minNs = -1n;
  let maxNs = 0n;
  const flush = () => {
    const r = encodeRequest(pending, traceIdOf, b.services);
    requests.push(r);
    wireBytes += r.length;
    pending = [];
    traceIdOf.clear();
  };
  for (let i = 0; spans < o.spans; i++) {
    const start = t0 + stepNs * BigInt(i) + BigInt(b.int(Number(stepNs > 1_000_000n ? 1_000_000n : stepNs)));
    b.spans = [];
    b.trace(start);
    // the builder's shape makes 13–47 spans per trace
    const tid = b.id(16);
    for (const s of b.spans) {
      traceIdOf.set(s, tid);
      if (s.error) errorSpans++;
      const end = s.startNs + s.durationNs;
      if (minNs < 0n || s.startNs < minNs) minNs = s.startNs;
      if (end > maxNs) maxNs = end;
    }
    for (const q of SEARCHES) if (b.spans.some(q.match)) truth[q.id]!++;
    const serviceOf = new Map(b.spans.map((s) => [hex(s.spanId), s.service]));
    for (const s of b.spans) {
      const parent = s.parentId ? serviceOf.get(hex(s.parentId)) : undefined;
      if (parent !== undefined && parent !== s.service) calls++;
    }
    traceIds.push(hex(tid));
    counts.push(b.spans.length);
    spans += b.spans.length;
    pending.push(...b.spans);
    if (pending.length >= o.batch) flush();
  }
  if (pending.length) flush();
  return {
    spans,
    traces: traceIds.length,
    requests,
    wireBytes,
    traceIds,
    spanCounts: Uint16Array.from(counts),
    startNs: minNs,
    endNs: maxNs + 1n,
    truth,
    calls,
    errorSpans,
  };
}
