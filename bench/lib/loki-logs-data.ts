/**
 * The log workload of issue 5 (done-when 5) and of ../shared/notes/performance.md ("Logs — Loki
 * v3.4.6"): 25 % nginx access lines and 75 % JSON app lines (level, msg, trace_id, span_id on most
 * lines, user_id, method, path, status, duration_ms) in 32 streams labelled job/host/service/env,
 * spread evenly over a 2 h window ending at `endMs`. Deterministic for a seed (only the window moves
 * with the clock). Encoded as Loki push JSON requests of `batch` lines: each of the `lanes` lanes
 * owns 8 of the 32 streams (stream s → lane s % lanes) and sends them in time order.
 *
 * Also computes the ground truth of the benchmark's queries while generating (lines containing
 * "GET" in job=nginx, "error" in either job, nginx 5xx by the query's regexp, app lines, status
 * counts), and picks a trace id that occurs exactly once.
 */
import { seededRandom } from './tsbs-data.ts';

export interface LogStream {
  job: 'nginx' | 'app';
  host: string;
  service: string;
  env: string;
}

export interface LogsWorkloadOptions {
  lines: number;
  seed: number;
  batch: number;
  lanes: number;
  endMs: number;
  windowMs: number;
}

export interface LogsTruth {
  nginxGet: number;
  /** lines of job nginx or app containing "error" */
  error: number;
  /** job=nginx lines matching `" 5[0-9][0-9] ` */
  nginx5xx: number;
  appLines: number;
  /** app lines per `status` value */
  appByStatus: Map<number, number>;
  /** lines that contain the rare trace id */
  rareTraceIdLines: number;
}

export interface LogsWorkload {
  options: LogsWorkloadOptions;
  streams: LogStream[];
  startNs: bigint;
  endNs: bigint;
  /** pre-encoded Loki push JSON bodies, per lane, in send order */
  lanes: Uint8Array[][];
  lines: number;
  /** sum of the lines' UTF-8 lengths */
  rawBytes: number;
  wireBytes: number;
  truth: LogsTruth;
  rareTraceId: string;
}

const SERVICES = ['checkout', 'payments', 'inventory', 'users', 'search', 'notifications'];
const ENVS = ['prod', 'staging'];
const METHODS: [string, number][] = [
  ['GET', 0.78],
  ['POST', 0.14],
  ['PUT', 0.04],
  ['DELETE', 0.02],
  ['PATCH', 0.02],
];
const NGINX_STATUS: [number, number][] = [
  [200, 0.8],
  [201, 0.03],
  [204, 0.02],
  [301, 0.015],
  [304, 0.06],
  [400, 0.01],
  [401, 0.01],
  [403, 0.005],
  [404, 0.035],
  [500, 0.006],
  [502, 0.004],
  [503, 0.003],
  [504, 0.002],
];
const LEVELS: [string, number][] = [
  ['debug', 0.1],
  ['info', 0.7985],
  ['warn', 0.08],
  ['error', 0.0215],
];
const UAS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.4.0',
  'kube-probe/1.28',
  'python-requests/2.31.0',
];
const NGINX_PATHS = [
  '/api/v1/products/{n}',
  '/api/v1/orders/{n}',
  '/api/v1/users/{n}/profile',
  '/static/js/app.{h}.js',
  '/static/css/main.{h}.css',
  '/images/catalog/{n}.webp',
  '/api/v1/search?q=item{n}&page=2',
  '/healthz',
  '/login',
  '/cart',
];
const APP_PATHS = [
  '/api/v1/orders/{n}',
  '/api/v1/payments/{n}/capture',
  '/api/v1/inventory/sku-{n}',
  '/api/v1/users/{n}',
  '/api/v1/search',
  '/api/v1/notifications/{n}/send',
];
const MSGS: Record<string, string[]> = {
  debug: [
    'cache lookup for key session:{n} returned a hit',
    'acquired connection from pool (idle=4, active=12)',
    'feature flag new-checkout-flow evaluated to true',
  ],
  info: [
    'request completed successfully and response sent to client',
    'order {n} created and queued for fulfilment by the warehouse',
    'payment authorised by provider for order {n} with 3-D Secure',
    'user {n} signed in from a new device using password and TOTP',
    'inventory reserved for 3 items in warehouse eu-west-1 zone b',
    'search returned 25 results in the primary index after rerank',
    'notification delivered through the email channel to the user',
  ],
  warn: [
    'slow response from downstream service, retrying in 200ms',
    'rate limit at 80% of quota for tenant {n}',
    'deprecated API version v1 used by client mobile-ios',
  ],
  error: [
    'upstream error: connection reset by peer',
    'database error: deadlock detected while updating order {n}',
    'payment provider returned error code card_declined',
    'unhandled error in request handler: timeout after 5000ms',
  ],
};
const APP_STATUS: Record<string, [number, number][]> = {
  debug: [[200, 1]],
  info: [
    [200, 0.85],
    [201, 0.1],
    [204, 0.05],
  ],
  warn: [
    [200, 0.5],
    [400, 0.2],
    [404, 0.2],
    [429, 0.1],
  ],
  error: [
    [500, 0.6],
    [502, 0.2],
    [503, 0.2],
  ],
};
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FIVE_XX = /" 5[0-9][0-9] /;
const HEX4 = Array.from({ length: 65536 }, (_, i) => i.toString(16).padStart(4, '0'));

/** Shannon entropy (bits) of a distribution given as [value, probability] pairs. */
const entropyBits = (table: readonly (readonly [unknown, number])[]) =>
  -table.reduce((h, [, p]) => (p > 0 ? h + p * Math.log2(p) : h), 0);

/**
 * The information the generator puts into an average line, in bytes: the entropy of its random
 * choices that the line and its nanosecond timestamp show (ids, numbers, picks from the tables
 * above, the timestamp's offset in its slot), each recoverable from what is stored. No lossless
 * store can keep the lines and timestamps in fewer bytes on average (Shannon's source coding
 * theorem), whatever its compression.
 */
export function informationBytesPerLine(options: Pick<LogsWorkloadOptions, 'lines' | 'windowMs'>): number {
  const streams = logStreams();
  const stepNs = (options.windowMs * 1e6) / (options.lines / streams.length);
  const timestamp = Math.log2(0.8 * stepNs); // uniform over 80 % of the stream's slot
  const n = Math.log2(99_000); // a {n} in a template
  const fill = (tpl: string) => (tpl.includes('{n}') ? n : tpl.includes('{h}') ? 32 : 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const bool = (p: number) =>
    entropyBits([
      [true, p],
      [false, 1 - p],
    ]);
  let app = entropyBits(LEVELS) + 128 + bool(0.8) + 0.8 * 64 + Math.log2(900_000) + entropyBits(METHODS);
  app += Math.log2(APP_PATHS.length) + mean(APP_PATHS.map(fill)) + timestamp;
  for (const [level, p] of LEVELS) {
    const msgs = MSGS[level]!;
    // error: uniform in [200, 5000) to 2 decimals; else e^(1+5u) to 2 decimals, whose differential
    // entropy is log2(5) + 3.5·log2(e) bits, plus log2(100) for the 0.01 grid
    const duration =
      level === 'error' ? Math.log2(4800 * 100) : Math.log2(5) + 3.5 * Math.LOG2E + Math.log2(100);
    app += p * (Math.log2(msgs.length) + mean(msgs.map(fill)) + entropyBits(APP_STATUS[level]!) + duration);
  }
  const noSize = NGINX_STATUS.filter(([s]) => s === 304 || s === 204).reduce((a, [, p]) => a + p, 0);
  const path = Math.log2(NGINX_PATHS.length) + mean(NGINX_PATHS.map(fill));
  const nginx =
    18 + // 10.<0-3>.<0-255>.<0-255>
    entropyBits(METHODS) +
    entropyBits(NGINX_STATUS) +
    (1 - noSize) * Math.log2(60_000) +
    bool(0.6) +
    0.4 * path + // the referrer
    path +
    Math.log2(UAS.length) +
    timestamp;
  const appStreams = streams.filter((s) => s.job === 'app').length;
  return (appStreams * app + (streams.length - appStreams) * nginx) / streams.length / 8;
}

/** The 32 streams: 8 nginx (4 hosts × 2 envs), 24 app (6 services × 2 hosts × 2 envs). */
export function logStreams(): LogStream[] {
  const out: LogStream[] = [];
  for (let h = 0; h < 4; h++)
    for (const env of ENVS) out.push({ job: 'nginx', host: `nginx-${h}`, service: 'frontend', env });
  for (const service of SERVICES)
    for (let h = 0; h < 2; h++)
      for (const env of ENVS) out.push({ job: 'app', host: `app-${h}`, service, env });
  return out;
}

function pick<T>(rand: () => number, table: [T, number][]): T {
  let r = rand();
  for (const [v, p] of table) {
    if (r < p) return v;
    r -= p;
  }
  return table[table.length - 1]![0];
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

let clfCache = { s: -1, text: '' };
function clfTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (clfCache.s === sec) return clfCache.text;
  const d = new Date(ms);
  clfCache = { s: sec, text: '' };
  return (clfCache.text = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`);
}

/** Generates and encodes the whole workload (a few seconds for 2 M lines). */
export function generateLogsWorkload(options: LogsWorkloadOptions): LogsWorkload {
  const { lines, seed, batch, lanes: laneCount, endMs, windowMs } = options;
  const streams = logStreams();
  if (lines % streams.length !== 0) throw new Error(`--lines must be a multiple of ${streams.length}`);
  const perStream = lines / streams.length;
  const rand = seededRandom(seed);
  const hexOf = (r: () => number, n: number) => {
    let s = '';
    for (let i = 0; i < n; i += 4) s += HEX4[Math.floor(r() * 65536)]!;
    return s;
  };
  const hex = (n: number) => hexOf(rand, n);
  const int = (n: number) => Math.floor(rand() * n);
  const fill = (tpl: string) => tpl.replace('{n}', String(1000 + int(99_000))).replace('{h}', hex(8));

  const endNs = BigInt(endMs) * 1_000_000n;
  const windowNs = BigInt(windowMs) * 1_000_000n;
  const startNs = endNs - windowNs;
  const stepNs = Number(windowNs) / perStream;
  const truth: LogsTruth = {
    nginxGet: 0,
    error: 0,
    nginx5xx: 0,
    appLines: 0,
    appByStatus: new Map(),
    rareTraceIdLines: 0,
  };
  // The rare id: one app line in the middle of the window of stream 13.
  const rareStream = 13;
  const rareIndex = Math.floor(perStream / 2);
  const rareTraceId = hexOf(seededRandom(seed ^ 0x5eed), 32);

  const line = (s: LogStream, si: number, k: number, tsMs: number): string => {
    if (s.job === 'nginx') {
      const method = pick(rand, METHODS);
      const status = pick(rand, NGINX_STATUS);
      const ua = UAS[int(UAS.length)]!;
      const ref =
        rand() < 0.6 ? '-' : `https://shop.example.com${fill(NGINX_PATHS[int(NGINX_PATHS.length)]!)}`;
      return `10.${int(4)}.${int(256)}.${int(256)} - - [${clfTime(tsMs)}] "${method} ${fill(NGINX_PATHS[int(NGINX_PATHS.length)]!)} HTTP/1.1" ${status} ${status === 304 || status === 204 ? 0 : 200 + int(60_000)} "${ref}" "${ua}"`;
    }
    const level = pick(rand, LEVELS);
    const msgs = MSGS[level]!;
    const status = pick(rand, APP_STATUS[level]!);
    const traceId = si === rareStream && k === rareIndex ? rareTraceId : hex(32);
    truth.appByStatus.set(status, (truth.appByStatus.get(status) ?? 0) + 1);
    const span = rand() < 0.8 ? `,"span_id":"${hex(16)}"` : '';
    const duration = level === 'error' ? 200 + rand() * 4800 : Math.exp(1 + rand() * 5);
    return `{"level":"${level}","msg":"${fill(msgs[int(msgs.length)]!)}","trace_id":"${traceId}"${span},"user_id":"u-${100_000 + int(900_000)}","method":"${pick(rand, METHODS)}","path":"${fill(APP_PATHS[int(APP_PATHS.length)]!)}","status":${status},"duration_ms":${duration.toFixed(2)}}`;
  };

  const enc = new TextEncoder();
  const lanes: Uint8Array[][] = Array.from({ length: laneCount }, () => []);
  let rawBytes = 0;
  let wireBytes = 0;
  for (let lane = 0; lane < laneCount; lane++) {
    const owned = streams.map((s, i) => ({ s, i })).filter(({ i }) => i % laneCount === lane);
    let pending = new Map<number, [string, string][]>();
    let inBatch = 0;
    const send = () => {
      const body = JSON.stringify({
        streams: [...pending].map(([i, values]) => ({ stream: { ...streams[i]! }, values })),
      });
      const bytes = enc.encode(body);
      wireBytes += bytes.length;
      lanes[lane]!.push(bytes);
      pending = new Map();
      inBatch = 0;
    };
    // Every stream has the same spacing: interleaving by index keeps each stream in time order
    // and the lane as a whole nearly so.
    for (let k = 0; k < perStream; k++) {
      for (const { s, i } of owned) {
        const offNs = Math.floor((k + 0.1 + rand() * 0.8) * stepNs);
        const tsMs = Number(startNs / 1_000_000n) + Math.floor(offNs / 1e6);
        const text = line(s, i, k, tsMs);
        rawBytes += Buffer.byteLength(text);
        if (s.job === 'nginx') {
          if (text.includes('GET')) truth.nginxGet++;
          if (FIVE_XX.test(text)) truth.nginx5xx++;
        } else truth.appLines++;
        if (text.includes('error')) truth.error++;
        if (text.includes(rareTraceId)) truth.rareTraceIdLines++;
        let values = pending.get(i);
        if (!values) pending.set(i, (values = []));
        values.push([String(startNs + BigInt(offNs)), text]);
        if (++inBatch === batch) send();
      }
    }
    if (inBatch > 0) send();
  }
  return { options, streams, startNs, endNs, lanes, lines, rawBytes, wireBytes, truth, rareTraceId };
}
