/**
 * TSBS "cpu-only" data set (timescale/tsbs `pkg/data/usecases/devops/{host,cpu}.go`), re-implemented
 * without Go as `../shared/notes/performance.md` describes it: a seeded RNG; per host 10 tags
 * chosen once (hostname, region, datacenter, rack, os, arch, team, service, service_version,
 * service_environment); 10 `cpu` fields, each a random walk `state += N(0,1)` clamped to [0,100]
 * from `rand*100`, emitted as int64 (truncated) — or, with `values: 'float'`, rounded to 3 decimals.
 * As VictoriaMetrics loads it, each field becomes a series `cpu_<field>{<10 tags>}`.
 *
 * Also the PromQL set of the notes' appendix (H1/H8 hosts drawn from the seed) and remote_write
 * 1.0 encoders (hand-written protobuf into one buffer + snappy) for the backfill shape (N series ×
 * 10 samples per request, lanes sharded by host, each lane in time order) and the live shape (one
 * sample per series per request).
 */
import { snappyCompress } from '../../src/lib/snappy.ts';

export const FIELDS = [
  'usage_user',
  'usage_system',
  'usage_idle',
  'usage_nice',
  'usage_iowait',
  'usage_irq',
  'usage_softirq',
  'usage_steal',
  'usage_guest',
  'usage_guest_nice',
] as const;

const REGIONS: [string, string[]][] = [
  ['us-east-1', ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1e']],
  ['us-west-1', ['us-west-1a', 'us-west-1b']],
  ['us-west-2', ['us-west-2a', 'us-west-2b', 'us-west-2c']],
  ['eu-west-1', ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']],
  ['eu-central-1', ['eu-central-1a', 'eu-central-1b']],
  ['ap-southeast-1', ['ap-southeast-1a', 'ap-southeast-1b']],
  ['ap-southeast-2', ['ap-southeast-2a', 'ap-southeast-2b']],
  ['ap-northeast-1', ['ap-northeast-1a', 'ap-northeast-1c']],
  ['sa-east-1', ['sa-east-1a', 'sa-east-1b', 'sa-east-1c']],
];
const OSES = ['Ubuntu16.10', 'Ubuntu16.04LTS', 'Ubuntu15.10'];
const ARCHS = ['x64', 'x86'];
const TEAMS = ['SF', 'NYC', 'LON', 'CHI'];
const ENVS = ['production', 'staging', 'test'];

/** mulberry32: small, fast, seeded; [0, 1) */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normal(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export interface TsbsOptions {
  hosts: number;
  points: number;
  intervalMs: number;
  /** first sample's timestamp (ms) */
  startMs: number;
  seed: number;
  values: 'int' | 'float';
}

export interface TsbsData {
  opts: TsbsOptions;
  /** tags per host, in label-name order (hostname first) */
  hostTags: [string, string][][];
  /** series index = host * 10 + field */
  seriesCount: number;
  /** values[series * points + i] */
  values: Float64Array;
  samples: number;
  endMs: number;
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

export function generateTsbs(opts: TsbsOptions): TsbsData {
  const rand = seededRandom(opts.seed);
  const nd = normal(rand);
  const hostTags: [string, string][][] = [];
  const seriesCount = opts.hosts * FIELDS.length;
  const values = new Float64Array(seriesCount * opts.points);
  for (let h = 0; h < opts.hosts; h++) {
    const [region, azs] = pick(rand, REGIONS);
    hostTags.push([
      ['hostname', `host_${h}`],
      ['region', region],
      ['datacenter', pick(rand, azs)],
      ['rack', String(Math.floor(rand() * 100))],
      ['os', pick(rand, OSES)],
      ['arch', pick(rand, ARCHS)],
      ['team', pick(rand, TEAMS)],
      ['service', String(Math.floor(rand() * 20))],
      ['service_version', String(Math.floor(rand() * 2))],
      ['service_environment', pick(rand, ENVS)],
    ]);
    for (let f = 0; f < FIELDS.length; f++) {
      let state = rand() * 100;
      const base = (h * FIELDS.length + f) * opts.points;
      for (let i = 0; i < opts.points; i++) {
        values[base + i] = opts.values === 'int' ? Math.trunc(state) : Math.round(state * 1000) / 1000;
        state = Math.min(100, Math.max(0, state + nd()));
      }
    }
  }
  return {
    opts,
    hostTags,
    seriesCount,
    values,
    samples: seriesCount * opts.points,
    endMs: opts.startMs + (opts.points - 1) * opts.intervalMs,
  };
}

// ---- remote_write 1.0 encoding --------------------------------------------------------------

const enc = new TextEncoder();

class Buf {
  buf: Uint8Array;
  dv: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  /** non-negative integers up to 2^53 */
  varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  double(v: number): void {
    this.ensure(8);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const varintLen = (n: number): number => {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
};

/** The encoded `Label` fields (field 1 of TimeSeries) of every series, labels sorted by name. */
export function seriesLabelBytes(data: TsbsData): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let h = 0; h < data.hostTags.length; h++) {
    for (const field of FIELDS) {
      const labels: [string, string][] = [['__name__', `cpu_${field}`], ...data.hostTags[h]!];
      labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const b = new Buf(512);
      for (const [k, v] of labels) {
        const kb = enc.encode(k);
        const vb = enc.encode(v);
        const inner = 1 + varintLen(kb.length) + kb.length + 1 + varintLen(vb.length) + vb.length;
        b.varint((1 << 3) | 2);
        b.varint(inner);
        b.varint((1 << 3) | 2);
        b.varint(kb.length);
        b.bytes(kb);
        b.varint((2 << 3) | 2);
        b.varint(vb.length);
        b.bytes(vb);
      }
      out.push(b.finish());
    }
  }
  return out;
}

/** One WriteRequest: for each (series, first point, count) the samples [first, first+count). */
export function encodeWriteRequest(
  data: TsbsData,
  labelBytes: Uint8Array[],
  parts: { series: number; first: number; count: number }[],
): Uint8Array {
  const { points, startMs, intervalMs } = data.opts;
  const b = new Buf(1 << 20);
  for (const { series, first, count } of parts) {
    const lb = labelBytes[series]!;
    let len = lb.length;
    const sampleLens: number[] = [];
    for (let i = first; i < first + count; i++) {
      const inner = 9 + 1 + varintLen(startMs + i * intervalMs);
      sampleLens.push(inner);
      len += 1 + varintLen(inner) + inner;
    }
    b.varint((1 << 3) | 2);
    b.varint(len);
    b.bytes(lb);
    for (let i = first; i < first + count; i++) {
      b.varint((2 << 3) | 2);
      b.varint(sampleLens[i - first]!);
      b.varint((1 << 3) | 1);
      b.double(data.values[series * points + i]!);
      b.varint(2 << 3);
      b.varint(startMs + i * intervalMs);
    }
  }
  return b.finish();
}

export interface Lanes {
  /** lanes[l] = that lane's snappy-compressed requests, in time order */
  lanes: Uint8Array[][];
  requests: number;
  wireBytes: number;
  rawBytes: number;
  seriesPerRequest: number;
  samplesPerRequest: number;
}

function hostLanes(data: TsbsData, nLanes: number): number[][] {
  const lanes: number[][] = Array.from({ length: nLanes }, () => []);
  for (let h = 0; h < data.opts.hosts; h++) lanes[h % nLanes]!.push(h);
  return lanes.filter((l) => l.length > 0);
}

function compressAll(reqs: Uint8Array[][]): Lanes {
  let rawBytes = 0;
  let wireBytes = 0;
  let requests = 0;
  const lanes = reqs.map((lane) =>
    lane.map((raw) => {
      rawBytes += raw.length;
      const c = snappyCompress(raw);
      wireBytes += c.length;
      requests++;
      return c;
    }),
  );
  return { lanes, requests, wireBytes, rawBytes, seriesPerRequest: 0, samplesPerRequest: 0 };
}

/**
 * Backfill shape: 4 lanes sharded by host; each request holds up to `seriesPerRequest` series of
 * its lane × `samplesPerSeries` consecutive points; each lane walks time in order.
 */
export function encodeBackfill(
  data: TsbsData,
  labelBytes: Uint8Array[],
  opts: { lanes: number; seriesPerRequest: number; samplesPerSeries: number },
): Lanes {
  const hostsPerReq = Math.max(1, Math.floor(opts.seriesPerRequest / FIELDS.length));
  const reqs: Uint8Array[][] = [];
  let maxSeries = 0;
  for (const hosts of hostLanes(data, opts.lanes)) {
    const lane: Uint8Array[] = [];
    for (let first = 0; first < data.opts.points; first += opts.samplesPerSeries) {
      const count = Math.min(opts.samplesPerSeries, data.opts.points - first);
      for (let g = 0; g < hosts.length; g += hostsPerReq) {
        const parts: { series: number; first: number; count: number }[] = [];
        for (const h of hosts.slice(g, g + hostsPerReq))
          for (let f = 0; f < FIELDS.length; f++) parts.push({ series: h * FIELDS.length + f, first, count });
        maxSeries = Math.max(maxSeries, parts.length);
        lane.push(encodeWriteRequest(data, labelBytes, parts));
      }
    }
    reqs.push(lane);
  }
  const out = compressAll(reqs);
  out.seriesPerRequest = maxSeries;
  out.samplesPerRequest = maxSeries * opts.samplesPerSeries;
  return out;
}

/**
 * Live shape (what a Prometheus server sends): one sample per series per request. Each lane owns
 * its hosts' series and sends, in time order, consecutive blocks of min(seriesPerRequest, lane
 * series) samples of its tick-major sequence, so no request holds two samples of one series.
 * Only the first `points` points are used.
 */
export function encodeLive(
  data: TsbsData,
  labelBytes: Uint8Array[],
  opts: { lanes: number; seriesPerRequest: number; points: number },
): Lanes {
  const reqs: Uint8Array[][] = [];
  let maxSeries = 0;
  const points = Math.min(opts.points, data.opts.points);
  for (const hosts of hostLanes(data, opts.lanes)) {
    const series = hosts.flatMap((h) => FIELDS.map((_, f) => h * FIELDS.length + f));
    const block = Math.min(opts.seriesPerRequest, series.length);
    const total = series.length * points;
    const lane: Uint8Array[] = [];
    for (let k = 0; k < total; k += block) {
      const parts: { series: number; first: number; count: number }[] = [];
      for (let j = k; j < Math.min(total, k + block); j++)
        parts.push({ series: series[j % series.length]!, first: Math.floor(j / series.length), count: 1 });
      maxSeries = Math.max(maxSeries, parts.length);
      lane.push(encodeWriteRequest(data, labelBytes, parts));
    }
    reqs.push(lane);
  }
  const out = compressAll(reqs);
  out.seriesPerRequest = maxSeries;
  out.samplesPerRequest = maxSeries;
  return out;
}

// ---- the PromQL set (performance.md appendix) ---------------------------------------------

export interface TsbsQuery {
  id: string;
  kind: 'range' | 'instant';
  query: string;
  /** seconds */
  start: number;
  end: number;
  step: number;
  heavy: boolean;
}

export function tsbsQueries(data: TsbsData, seed: number): TsbsQuery[] {
  const rand = seededRandom(seed ^ 0x5eed);
  const hosts = data.opts.hosts;
  const h1 = `host_${Math.floor(rand() * hosts)}`;
  const h8set = new Set<number>();
  while (h8set.size < Math.min(8, hosts)) h8set.add(Math.floor(rand() * hosts));
  const h8 = [...h8set].map((h) => `host_${h}`).join('|');
  const start = data.opts.startMs / 1000;
  const end = data.endMs / 1000;
  const lastHour = end - 3600;
  const perMetric = (fields: readonly string[], f: (m: string) => string) =>
    fields.map((x) => `label_replace(${f(`cpu_${x}`)}, "field", "${x}", "", "")`).join(' or ');
  const q = (
    id: string,
    kind: 'range' | 'instant',
    query: string,
    from: number,
    step: number,
    heavy = false,
  ): TsbsQuery => ({ id, kind, query, start: kind === 'instant' ? end : from, end, step, heavy });
  return [
    q(
      'single-groupby-1-1-1',
      'range',
      `max(max_over_time(cpu_usage_user{hostname="${h1}"}[1m]))`,
      lastHour,
      60,
    ),
    q(
      'single-groupby-1-8-1',
      'range',
      `max(max_over_time(cpu_usage_user{hostname=~"${h8}"}[1m]))`,
      lastHour,
      60,
    ),
    q(
      'single-groupby-5-1-all',
      'range',
      perMetric(FIELDS.slice(0, 5), (m) => `max(max_over_time(${m}{hostname="${h1}"}[1m]))`),
      start,
      60,
    ),
    q(
      'cpu-max-all-8',
      'range',
      perMetric(FIELDS, (m) => `max(max_over_time(${m}{hostname=~"${h8}"}[1h]))`),
      start,
      3600,
    ),
    q(
      'double-groupby-1',
      'range',
      `avg by (hostname) (avg_over_time(cpu_usage_user[1h]))`,
      start,
      3600,
      true,
    ),
    q(
      'double-groupby-all',
      'range',
      perMetric(FIELDS, (m) => `avg by (hostname) (avg_over_time(${m}[1h]))`),
      start,
      3600,
      true,
    ),
    q('high-cpu-all', 'range', `count(cpu_usage_user > 90)`, start, 60, true),
    q('rate-sum-by-region', 'range', `sum by (region) (rate(cpu_usage_user[5m]))`, lastHour, 60),
    q('lastpoint', 'instant', `{__name__=~"cpu_usage_.*"}`, end, 0, true),
    q(
      'topk-5-max-by-host',
      'instant',
      `topk(5, max by (hostname) (max_over_time(cpu_usage_user[1h])))`,
      end,
      0,
    ),
  ];
}
