/**
 * OTLP metrics (`ExportMetricsServiceRequest`) decoded by hand, from protobuf or from OTLP/JSON,
 * into one neutral shape that the Prometheus translation (translate.ts) reads. Both decoders give
 * identical results for the same request.
 *
 * Field numbers (opentelemetry-proto metrics.proto, checked against the upstream file):
 *   ExportMetricsServiceRequest { resource_metrics = 1 }
 *   ResourceMetrics { resource = 1; scope_metrics = 2; schema_url = 3 }   Resource { attributes = 1 }
 *   ScopeMetrics { scope = 1; metrics = 2 }   InstrumentationScope { name = 1; version = 2; attributes = 3 }
 *   Metric { name = 1; description = 2; unit = 3; gauge = 5; sum = 7; histogram = 9;
 *            exponential_histogram = 10; summary = 11; metadata = 12 }
 *   Gauge { data_points = 1 }   Sum { data_points = 1; aggregation_temporality = 2; is_monotonic = 3 }
 *   Histogram / ExponentialHistogram { data_points = 1; aggregation_temporality = 2 }   Summary { data_points = 1 }
 *   NumberDataPoint { attributes = 7; start_time_unix_nano = 2 (fixed64); time_unix_nano = 3 (fixed64);
 *                     as_double = 4; as_int = 6 (sfixed64); exemplars = 5; flags = 8 }
 *   HistogramDataPoint { attributes = 9; start = 2; time = 3; count = 4 (fixed64); sum = 5 (double);
 *                        bucket_counts = 6 (packed fixed64); explicit_bounds = 7 (packed double);
 *                        exemplars = 8; flags = 10; min = 11; max = 12 }
 *   ExponentialHistogramDataPoint { attributes = 1; start = 2; time = 3; count = 4 (fixed64); sum = 5;
 *                        scale = 6 (sint32); zero_count = 7 (fixed64); positive = 8; negative = 9;
 *                        flags = 10; exemplars = 11; min = 12; max = 13; zero_threshold = 14 }
 *     Buckets { offset = 1 (sint32); bucket_counts = 2 (packed uint64) }
 *   SummaryDataPoint { attributes = 7; start = 2; time = 3; count = 4 (fixed64); sum = 5 (double);
 *                      quantile_values = 6 { quantile = 1; value = 2 }; flags = 8 }
 *   KeyValue { key = 1; value = 2 }   AnyValue { string = 1; bool = 2; int = 3; double = 4;
 *                                                array = 5 { values = 1 }; kvlist = 6 { values = 1 }; bytes = 7 }
 *
 * Attribute values are kept as the strings Prometheus makes of them (pdata's `Value.AsString`):
 * ints in decimal, doubles in shortest form, bools as true/false, bytes in base64, arrays and maps
 * as JSON. Malformed input throws a 400 MoleError naming the problem.
 */
import { MoleError } from '../../lib/errors.ts';
import {
  ProtobufReader,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  malformedProtobuf,
} from '../../lib/protobuf-reader.ts';
import { badJson, parseJson } from '../otlp/json-values.ts';

export interface Attr {
  key: string;
  value: string;
}

export type MetricKind = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary' | 'none';

/** AggregationTemporality: 0 unspecified, 1 delta, 2 cumulative. */
export type Temporality = 0 | 1 | 2;

export interface OtlpPoint {
  attributes: Attr[];
  startTimeNs: bigint;
  timeNs: bigint;
  flags: number;
  /** gauge / sum: the value; null when neither as_double nor as_int was sent */
  value: number | null;
  /** histogram, exponential histogram, summary */
  count: number;
  /** null when absent (histograms: optional) */
  sum: number | null;
  /** histogram: per-bucket (not cumulative) counts and the explicit bounds */
  bucketCounts: number[];
  explicitBounds: number[];
  /** summary: [quantile, value] */
  quantiles: [number, number][];
  /** exponential histogram: bucket count total (positive + negative + zero), for reporting */
  expBuckets: number;
  /** number and histogram points: their exemplars */
  exemplars: OtlpExemplar[];
}

/** Exemplar { filtered_attributes = 7; time_unix_nano = 2 (fixed64); as_double = 3; as_int = 6 (sfixed64); span_id = 4; trace_id = 5 } */
export interface OtlpExemplar {
  attributes: Attr[];
  timeNs: bigint;
  value: number;
  /** lowercase hex, '' when absent */
  traceId: string;
  spanId: string;
}

export interface OtlpMetric {
  name: string;
  description: string;
  unit: string;
  kind: MetricKind;
  temporality: Temporality;
  monotonic: boolean;
  points: OtlpPoint[];
}

export interface OtlpScopeMetrics {
  name: string;
  version: string;
  metrics: OtlpMetric[];
}

export interface OtlpResourceMetrics {
  attributes: Attr[];
  scopes: OtlpScopeMetrics[];
}

export interface OtlpMetricsRequest {
  resources: OtlpResourceMetrics[];
}

/** DataPointFlags.FLAG_NO_RECORDED_VALUE */
export const FLAG_NO_RECORDED_VALUE = 1;
const MAX_DEPTH = 32;

/** An empty data point (every field at its proto3 default). */
export const newPoint = (): OtlpPoint => ({
  attributes: [],
  startTimeNs: 0n,
  timeNs: 0n,
  flags: 0,
  value: null,
  count: 0,
  sum: null,
  bucketCounts: [],
  explicitBounds: [],
  quantiles: [],
  expBuckets: 0,
  exemplars: [],
});

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

// ---------------------------------------------------------------------------------------------
// Attribute values as strings (pdata Value.AsString)

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const s = String(f);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, frac = '', expText] = m;
  const digits = lead! + frac;
  const exp = Number(expText);
  if (exp >= 0) {
    const intLen = 1 + exp;
    return (
      sign! +
      (digits.length <= intLen
        ? digits + '0'.repeat(intLen - digits.length)
        : `${digits.slice(0, intLen)}.${digits.slice(intLen)}`)
    );
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

const plainToString = (v: Plain): string => (typeof v === 'string' ? v : JSON.stringify(v));

// ---------------------------------------------------------------------------------------------
// Protobuf

const tagOf = (field: number, wire: number): number => (field << 3) | wire;
const utf8 = new TextDecoder('utf-8', { fatal: true });

class ProtoDecoder {
  private readonly r: ProtobufReader;

  constructor(body: Uint8Array) {
    this.r = new ProtobufReader(body);
  }

  private expect(tag: number, wire: number, name: string): void {
    if ((tag & 7) !== wire) throw this.r.wrongWireType(tag, name, wire);
  }

  private str(end: number, what: string): string {
    const stop = this.r.lengthDelimited(end);
    const start = this.r.pos;
    this.r.pos = stop;
    try {
      return utf8.decode(this.r.buf.subarray(start, stop));
    } catch {
      throw malformedProtobuf(`${what} at offset ${start} is not valid UTF-8`);
    }
  }

  private fixed64Number(end: number): number {
    return Number(this.r.fixed64(end));
  }

  private sfixed64Number(end: number): number {
    return Number(BigInt.asIntN(64, this.r.fixed64(end)));
  }

  private sint32(end: number): number {
    const n = this.r.varint(end);
    return (n >>> 1) ^ -(n & 1);
  }

  /** uint64 varint as a number */
  private uint64(end: number): number {
    const lo = this.r.varint(end);
    return this.r.hi * 0x100000000 + lo;
  }

  request(): OtlpMetricsRequest {
    const r = this.r;
    const end = r.buf.length;
    const resources: OtlpResourceMetrics[] = [];
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag >>> 3 === 1) {
        this.expect(tag, WIRE_LEN, 'resource_metrics');
        resources.push(this.resourceMetrics(r.lengthDelimited(end)));
      } else r.skip(tag, end);
    }
    return { resources };
  }

  private resourceMetrics(end: number): OtlpResourceMetrics {
    const r = this.r;
    const out: OtlpResourceMetrics = { attributes: [], scopes: [] };
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field === 1) {
        this.expect(tag, WIRE_LEN, 'resource');
        const e = r.lengthDelimited(end);
        while (r.pos < e) {
          const t = r.tag(e);
          if (t >>> 3 === 1) {
            this.expect(t, WIRE_LEN, 'attributes');
            out.attributes.push(this.keyValue(r.lengthDelimited(e)));
          } else r.skip(t, e);
        }
      } else if (field === 2) {
        this.expect(tag, WIRE_LEN, 'scope_metrics');
        out.scopes.push(this.scopeMetrics(r.lengthDelimited(end)));
      } else r.skip(tag, end);
    }
    return out;
  }

  private scopeMetrics(end: number): OtlpScopeMetrics {
    const r = this.r;
    const out: OtlpScopeMetrics = { name: '', version: '', metrics: [] };
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field === 1) {
        this.expect(tag, WIRE_LEN, 'scope');
        const e = r.lengthDelimited(end);
        while (r.pos < e) {
          const t = r.tag(e);
          const f = t >>> 3;
          if (f === 1) {
            this.expect(t, WIRE_LEN, 'scope.name');
            out.name = this.str(e, 'scope name');
          } else if (f === 2) {
            this.expect(t, WIRE_LEN, 'scope.version');
            out.version = this.str(e, 'scope version');
          } else r.skip(t, e);
        }
      } else if (field === 2) {
        this.expect(tag, WIRE_LEN, 'metrics');
        out.metrics.push(this.metric(r.lengthDelimited(end)));
      } else r.skip(tag, end);
    }
    return out;
  }

  private metric(end: number): OtlpMetric {
    const r = this.r;
    const m: OtlpMetric = {
      name: '',
      description: '',
      unit: '',
      kind: 'none',
      temporality: 0,
      monotonic: false,
      points: [],
    };
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      switch (field) {
        case 1:
          this.expect(tag, WIRE_LEN, 'name');
          m.name = this.str(end, 'metric name');
          break;
        case 2:
          this.expect(tag, WIRE_LEN, 'description');
          m.description = this.str(end, 'metric description');
          break;
        case 3:
          this.expect(tag, WIRE_LEN, 'unit');
          m.unit = this.str(end, 'metric unit');
          break;
        case 5:
        case 7:
        case 9:
        case 10:
        case 11: {
          const kind = KIND_BY_FIELD[field]!;
          this.expect(tag, WIRE_LEN, kind);
          m.kind = kind;
          m.points = [];
          this.data(m, r.lengthDelimited(end));
          break;
        }
        default:
          r.skip(tag, end);
      }
    }
    return m;
  }

  private data(m: OtlpMetric, end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field === 1) {
        this.expect(tag, WIRE_LEN, 'data_points');
        const e = r.lengthDelimited(end);
        m.points.push(
          m.kind === 'gauge' || m.kind === 'sum'
            ? this.numberPoint(e)
            : m.kind === 'histogram'
              ? this.histogramPoint(e)
              : m.kind === 'exponential_histogram'
                ? this.expHistogramPoint(e)
                : this.summaryPoint(e),
        );
      } else if (field === 2 && m.kind !== 'gauge' && m.kind !== 'summary') {
        this.expect(tag, WIRE_VARINT, 'aggregation_temporality');
        const t = r.int32(end);
        m.temporality = t === 1 || t === 2 ? t : 0;
      } else if (field === 3 && m.kind === 'sum') {
        this.expect(tag, WIRE_VARINT, 'is_monotonic');
        m.monotonic = r.bool(end);
      } else r.skip(tag, end);
    }
  }

  private common(p: OtlpPoint, tag: number, end: number): boolean {
    const r = this.r;
    switch (tag >>> 3) {
      case 2:
        this.expect(tag, WIRE_I64, 'start_time_unix_nano');
        p.startTimeNs = r.fixed64(end);
        return true;
      case 3:
        this.expect(tag, WIRE_I64, 'time_unix_nano');
        p.timeNs = r.fixed64(end);
        return true;
    }
    return false;
  }

  private numberPoint(end: number): OtlpPoint {
    const r = this.r;
    const p = newPoint();
    while (r.pos < end) {
      const tag = r.tag(end);
      if (this.common(p, tag, end)) continue;
      switch (tag >>> 3) {
        case 7:
          this.expect(tag, WIRE_LEN, 'attributes');
          p.attributes.push(this.keyValue(r.lengthDelimited(end)));
          break;
        case 4:
          this.expect(tag, WIRE_I64, 'as_double');
          p.value = r.double(end);
          break;
        case 6:
          this.expect(tag, WIRE_I64, 'as_int');
          p.value = this.sfixed64Number(end);
          break;
        case 5:
          this.expect(tag, WIRE_LEN, 'exemplars');
          p.exemplars.push(this.exemplar(r.lengthDelimited(end)));
          break;
        case 8:
          this.expect(tag, WIRE_VARINT, 'flags');
          p.flags = r.uint32(end);
          break;
        default:
          r.skip(tag, end);
      }
    }
    return p;
  }

  private exemplar(end: number): OtlpExemplar {
    const r = this.r;
    const e: OtlpExemplar = { attributes: [], timeNs: 0n, value: 0, traceId: '', spanId: '' };
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag >>> 3) {
        case 7:
          this.expect(tag, WIRE_LEN, 'filtered_attributes');
          e.attributes.push(this.keyValue(r.lengthDelimited(end)));
          break;
        case 2:
          this.expect(tag, WIRE_I64, 'time_unix_nano');
          e.timeNs = r.fixed64(end);
          break;
        case 3:
          this.expect(tag, WIRE_I64, 'as_double');
          e.value = r.double(end);
          break;
        case 6:
          this.expect(tag, WIRE_I64, 'as_int');
          e.value = this.sfixed64Number(end);
          break;
        case 4:
        case 5: {
          this.expect(tag, WIRE_LEN, tag >>> 3 === 4 ? 'span_id' : 'trace_id');
          const idEnd = r.lengthDelimited(end);
          const hex = hexOf(r.buf.subarray(r.pos, idEnd));
          r.pos = idEnd;
          if (tag >>> 3 === 4) e.spanId = hex;
          else e.traceId = hex;
          break;
        }
        default:
          r.skip(tag, end);
      }
    }
    return e;
  }

  private histogramPoint(end: number): OtlpPoint {
    const r = this.r;
    const p = newPoint();
    while (r.pos < end) {
      const tag = r.tag(end);
      if (this.common(p, tag, end)) continue;
      switch (tag >>> 3) {
        case 9:
          this.expect(tag, WIRE_LEN, 'attributes');
          p.attributes.push(this.keyValue(r.lengthDelimited(end)));
          break;
        case 4:
          this.expect(tag, WIRE_I64, 'count');
          p.count = this.fixed64Number(end);
          break;
        case 5:
          this.expect(tag, WIRE_I64, 'sum');
          p.sum = r.double(end);
          break;
        case 6:
          if ((tag & 7) === WIRE_LEN) {
            const e = r.lengthDelimited(end);
            while (r.pos < e) p.bucketCounts.push(this.fixed64Number(e));
          } else {
            this.expect(tag, WIRE_I64, 'bucket_counts');
            p.bucketCounts.push(this.fixed64Number(end));
          }
          break;
        case 7:
          if ((tag & 7) === WIRE_LEN) {
            const e = r.lengthDelimited(end);
            while (r.pos < e) p.explicitBounds.push(r.double(e));
          } else {
            this.expect(tag, WIRE_I64, 'explicit_bounds');
            p.explicitBounds.push(r.double(end));
          }
          break;
        case 8:
          this.expect(tag, WIRE_LEN, 'exemplars');
          p.exemplars.push(this.exemplar(r.lengthDelimited(end)));
          break;
        case 10:
          this.expect(tag, WIRE_VARINT, 'flags');
          p.flags = r.uint32(end);
          break;
        default:
          r.skip(tag, end);
      }
    }
    return p;
  }

  private buckets(end: number): number {
    const r = this.r;
    let total = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field === 1) {
        this.expect(tag, WIRE_VARINT, 'offset');
        this.sint32(end);
      } else if (field === 2) {
        if ((tag & 7) === WIRE_LEN) {
          const e = r.lengthDelimited(end);
          while (r.pos < e) total += this.uint64(e);
        } else {
          this.expect(tag, WIRE_VARINT, 'bucket_counts');
          total += this.uint64(end);
        }
      } else r.skip(tag, end);
    }
    return total;
  }

  private expHistogramPoint(end: number): OtlpPoint {
    const r = this.r;
    const p = newPoint();
    while (r.pos < end) {
      const tag = r.tag(end);
      if (this.common(p, tag, end)) continue;
      switch (tag >>> 3) {
        case 1:
          this.expect(tag, WIRE_LEN, 'attributes');
          p.attributes.push(this.keyValue(r.lengthDelimited(end)));
          break;
        case 4:
          this.expect(tag, WIRE_I64, 'count');
          p.count = this.fixed64Number(end);
          break;
        case 5:
          this.expect(tag, WIRE_I64, 'sum');
          p.sum = r.double(end);
          break;
        case 6:
          this.expect(tag, WIRE_VARINT, 'scale');
          this.sint32(end);
          break;
        case 7:
          this.expect(tag, WIRE_I64, 'zero_count');
          p.expBuckets += this.fixed64Number(end);
          break;
        case 8:
        case 9:
          this.expect(tag, WIRE_LEN, tag >>> 3 === 8 ? 'positive' : 'negative');
          p.expBuckets += this.buckets(r.lengthDelimited(end));
          break;
        case 10:
          this.expect(tag, WIRE_VARINT, 'flags');
          p.flags = r.uint32(end);
          break;
        default:
          r.skip(tag, end);
      }
    }
    return p;
  }

  private summaryPoint(end: number): OtlpPoint {
    const r = this.r;
    const p = newPoint();
    while (r.pos < end) {
      const tag = r.tag(end);
      if (this.common(p, tag, end)) continue;
      switch (tag >>> 3) {
        case 7:
          this.expect(tag, WIRE_LEN, 'attributes');
          p.attributes.push(this.keyValue(r.lengthDelimited(end)));
          break;
        case 4:
          this.expect(tag, WIRE_I64, 'count');
          p.count = this.fixed64Number(end);
          break;
        case 5:
          this.expect(tag, WIRE_I64, 'sum');
          p.sum = r.double(end);
          break;
        case 6: {
          this.expect(tag, WIRE_LEN, 'quantile_values');
          const e = r.lengthDelimited(end);
          let q = 0;
          let v = 0;
          while (r.pos < e) {
            const t = r.tag(e);
            if (t === tagOf(1, WIRE_I64)) q = r.double(e);
            else if (t === tagOf(2, WIRE_I64)) v = r.double(e);
            else if (t >>> 3 === 1 || t >>> 3 === 2)
              throw r.wrongWireType(t, t >>> 3 === 1 ? 'quantile' : 'value', WIRE_I64);
            else r.skip(t, e);
          }
          p.quantiles.push([q, v]);
          break;
        }
        case 8:
          this.expect(tag, WIRE_VARINT, 'flags');
          p.flags = r.uint32(end);
          break;
        default:
          r.skip(tag, end);
      }
    }
    return p;
  }

  private keyValue(end: number): Attr {
    const r = this.r;
    let key = '';
    let value: Plain = '';
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field === 1) {
        this.expect(tag, WIRE_LEN, 'key');
        key = this.str(end, 'attribute key');
      } else if (field === 2) {
        this.expect(tag, WIRE_LEN, 'value');
        value = this.anyValue(r.lengthDelimited(end), 0);
      } else r.skip(tag, end);
    }
    return { key, value: plainToString(value) };
  }

  private anyValue(end: number, depth: number): Plain {
    const r = this.r;
    if (depth > MAX_DEPTH) throw malformedProtobuf(`AnyValue nested deeper than ${MAX_DEPTH} levels`);
    let v: Plain = '';
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag >>> 3) {
        case 1:
          this.expect(tag, WIRE_LEN, 'string_value');
          v = this.str(end, 'string_value');
          break;
        case 2:
          this.expect(tag, WIRE_VARINT, 'bool_value');
          v = r.bool(end);
          break;
        case 3:
          this.expect(tag, WIRE_VARINT, 'int_value');
          {
            const n = r.int64(end);
            v = Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
          }
          break;
        case 4:
          this.expect(tag, WIRE_I64, 'double_value');
          v = r.double(end);
          break;
        case 5:
        case 6: {
          const isList = tag >>> 3 === 5;
          this.expect(tag, WIRE_LEN, isList ? 'array_value' : 'kvlist_value');
          const e = r.lengthDelimited(end);
          const list: Plain[] = [];
          const map: { [k: string]: Plain } = {};
          while (r.pos < e) {
            const t = r.tag(e);
            if (t >>> 3 !== 1) {
              r.skip(t, e);
              continue;
            }
            this.expect(t, WIRE_LEN, 'values');
            const ve = r.lengthDelimited(e);
            if (isList) list.push(this.anyValue(ve, depth + 1));
            else {
              let k = '';
              let kv: Plain = null;
              while (r.pos < ve) {
                const tt = r.tag(ve);
                if (tt >>> 3 === 1) {
                  this.expect(tt, WIRE_LEN, 'key');
                  k = this.str(ve, 'attribute key');
                } else if (tt >>> 3 === 2) {
                  this.expect(tt, WIRE_LEN, 'value');
                  kv = this.anyValue(r.lengthDelimited(ve), depth + 1);
                } else r.skip(tt, ve);
              }
              map[k] = kv;
            }
          }
          v = isList ? list : map;
          break;
        }
        case 7: {
          this.expect(tag, WIRE_LEN, 'bytes_value');
          const e = r.lengthDelimited(end);
          v = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, e - r.pos).toString('base64');
          r.pos = e;
          break;
        }
        default:
          r.skip(tag, end);
      }
    }
    return depth === 0 ? scalarString(v) : v;
  }
}

/** At the top level numbers and bools become their string form; nested ones stay JSON values. */
function scalarString(v: Plain): Plain {
  if (typeof v === 'number') return formatFloat(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return v;
}

const KIND_BY_FIELD: Record<number, MetricKind> = {
  5: 'gauge',
  7: 'sum',
  9: 'histogram',
  10: 'exponential_histogram',
  11: 'summary',
};

export function decodeMetricsProto(body: Uint8Array): OtlpMetricsRequest {
  return new ProtoDecoder(body).request();
}

// ---------------------------------------------------------------------------------------------
// JSON (OTLP/JSON: lowerCamelCase keys; snake_case accepted too; 64-bit integers as strings or numbers)

type Obj = Readonly<Record<string, unknown>>;

class JsonDecoder {
  private path: string[] = [];

  private fail(msg: string, field?: string): MoleError {
    const p = [...this.path, ...(field === undefined ? [] : [field])].join('.');
    return badJson(`${p === '' ? '(root)' : p}: ${msg}`);
  }

  private at<T>(name: string, f: () => T): T {
    this.path.push(name);
    try {
      return f();
    } finally {
      this.path.pop();
    }
  }

  private obj(v: unknown, field?: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw this.fail(`expected an object, got ${kindOf(v)}`, field);
    return v as Obj;
  }

  private get(o: Obj, camel: string, snake?: string): unknown {
    const v = o[camel];
    return v === undefined && snake !== undefined ? o[snake] : v;
  }

  private arr(v: unknown, field: string): readonly unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.fail(`expected an array, got ${kindOf(v)}`, field);
    return v;
  }

  private str(v: unknown, field: string): string {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw this.fail(`expected a string, got ${kindOf(v)}`, field);
    return v;
  }

  private u64(v: unknown, field: string): bigint {
    if (v === undefined || v === null) return 0n;
    if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v) && BigInt(v) < 1n << 64n) return BigInt(v);
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    throw this.fail(
      `expected an unsigned 64-bit integer, got ${JSON.stringify(v)?.slice(0, 40) ?? kindOf(v)}`,
      field,
    );
  }

  private i64(v: unknown, field: string): bigint {
    if (typeof v === 'string' && /^-?[0-9]{1,19}$/.test(v)) {
      const n = BigInt(v);
      if (n >= -(1n << 63n) && n < 1n << 63n) return n;
    }
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    throw this.fail(`expected a 64-bit integer, got ${JSON.stringify(v)?.slice(0, 40) ?? kindOf(v)}`, field);
  }

  private double(v: unknown, field: string): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/.test(v)) return Number(v);
    }
    throw this.fail(`expected a number, got ${JSON.stringify(v)?.slice(0, 40) ?? kindOf(v)}`, field);
  }

  private int(v: unknown, field: string): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw this.fail(`expected an integer, got ${JSON.stringify(v)?.slice(0, 40) ?? kindOf(v)}`, field);
  }

  private bool(v: unknown, field: string): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw this.fail(`expected true or false, got ${kindOf(v)}`, field);
    return v;
  }

  request(root: unknown): OtlpMetricsRequest {
    const o = this.obj(root);
    const list = this.arr(this.get(o, 'resourceMetrics', 'resource_metrics'), 'resourceMetrics');
    return {
      resources: list.map((rm, i) => this.at(`resourceMetrics[${i}]`, () => this.resourceMetrics(rm))),
    };
  }

  private resourceMetrics(v: unknown): OtlpResourceMetrics {
    const o = this.obj(v);
    const res = this.get(o, 'resource');
    const attributes =
      res === undefined || res === null
        ? []
        : this.at('resource', () => this.attributes(this.get(this.obj(res), 'attributes')));
    const scopes = this.arr(this.get(o, 'scopeMetrics', 'scope_metrics'), 'scopeMetrics').map((sm, i) =>
      this.at(`scopeMetrics[${i}]`, () => this.scopeMetrics(sm)),
    );
    return { attributes, scopes };
  }

  private scopeMetrics(v: unknown): OtlpScopeMetrics {
    const o = this.obj(v);
    const scope = this.get(o, 'scope');
    let name = '';
    let version = '';
    if (scope !== undefined && scope !== null) {
      const s = this.obj(scope, 'scope');
      name = this.str(s.name, 'scope.name');
      version = this.str(s.version, 'scope.version');
    }
    const metrics = this.arr(this.get(o, 'metrics'), 'metrics').map((m, i) =>
      this.at(`metrics[${i}]`, () => this.metric(m)),
    );
    return { name, version, metrics };
  }

  private metric(v: unknown): OtlpMetric {
    const o = this.obj(v);
    const m: OtlpMetric = {
      name: this.str(o.name, 'name'),
      description: this.str(o.description, 'description'),
      unit: this.str(o.unit, 'unit'),
      kind: 'none',
      temporality: 0,
      monotonic: false,
      points: [],
    };
    const kinds: [MetricKind, string, string][] = [
      ['gauge', 'gauge', 'gauge'],
      ['sum', 'sum', 'sum'],
      ['histogram', 'histogram', 'histogram'],
      ['exponential_histogram', 'exponentialHistogram', 'exponential_histogram'],
      ['summary', 'summary', 'summary'],
    ];
    for (const [kind, camel, snake] of kinds) {
      const d = this.get(o, camel, snake);
      if (d === undefined || d === null) continue;
      m.kind = kind;
      this.at(camel, () => this.data(m, this.obj(d)));
    }
    return m;
  }

  private data(m: OtlpMetric, o: Obj): void {
    if (m.kind !== 'gauge' && m.kind !== 'summary') {
      const t = this.get(o, 'aggregationTemporality', 'aggregation_temporality');
      if (t === 'AGGREGATION_TEMPORALITY_DELTA') m.temporality = 1;
      else if (t === 'AGGREGATION_TEMPORALITY_CUMULATIVE') m.temporality = 2;
      else if (t === undefined || t === null || t === 'AGGREGATION_TEMPORALITY_UNSPECIFIED')
        m.temporality = 0;
      else {
        const n = this.int(t, 'aggregationTemporality');
        m.temporality = n === 1 || n === 2 ? n : 0;
      }
    }
    if (m.kind === 'sum') m.monotonic = this.bool(this.get(o, 'isMonotonic', 'is_monotonic'), 'isMonotonic');
    m.points = this.arr(this.get(o, 'dataPoints', 'data_points'), 'dataPoints').map((p, i) =>
      this.at(`dataPoints[${i}]`, () => this.point(m.kind, this.obj(p))),
    );
  }

  private point(kind: MetricKind, o: Obj): OtlpPoint {
    const p = newPoint();
    p.attributes = this.attributes(o.attributes);
    p.startTimeNs = this.u64(this.get(o, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano');
    p.timeNs = this.u64(this.get(o, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano');
    p.flags = this.int(o.flags, 'flags');
    if (kind === 'gauge' || kind === 'sum' || kind === 'histogram')
      p.exemplars = this.arr(o.exemplars, 'exemplars').map((x, i) =>
        this.at(`exemplars[${i}]`, () => this.exemplar(this.obj(x))),
      );
    if (kind === 'gauge' || kind === 'sum') {
      const d = this.get(o, 'asDouble', 'as_double');
      const i = this.get(o, 'asInt', 'as_int');
      if (d !== undefined && d !== null) p.value = this.double(d, 'asDouble');
      else if (i !== undefined && i !== null) p.value = Number(this.i64(i, 'asInt'));
      return p;
    }
    p.count = Number(this.u64(o.count, 'count'));
    if (o.sum !== undefined && o.sum !== null) p.sum = this.double(o.sum, 'sum');
    if (kind === 'histogram') {
      p.bucketCounts = this.arr(this.get(o, 'bucketCounts', 'bucket_counts'), 'bucketCounts').map((c) =>
        Number(this.u64(c, 'bucketCounts')),
      );
      p.explicitBounds = this.arr(this.get(o, 'explicitBounds', 'explicit_bounds'), 'explicitBounds').map(
        (b) => this.double(b, 'explicitBounds'),
      );
    } else if (kind === 'exponential_histogram') {
      p.expBuckets = Number(this.u64(this.get(o, 'zeroCount', 'zero_count'), 'zeroCount'));
      for (const side of ['positive', 'negative']) {
        const b = o[side];
        if (b === undefined || b === null) continue;
        const bo = this.obj(b, side);
        this.int(bo.offset, `${side}.offset`);
        for (const c of this.arr(this.get(bo, 'bucketCounts', 'bucket_counts'), `${side}.bucketCounts`))
          p.expBuckets += Number(this.u64(c, `${side}.bucketCounts`));
      }
    } else if (kind === 'summary') {
      p.quantiles = this.arr(this.get(o, 'quantileValues', 'quantile_values'), 'quantileValues').map(
        (q, i) => {
          const qo = this.obj(q, `quantileValues[${i}]`);
          return [
            qo.quantile === undefined ? 0 : this.double(qo.quantile, 'quantile'),
            qo.value === undefined ? 0 : this.double(qo.value, 'value'),
          ];
        },
      );
    }
    return p;
  }

  private exemplar(o: Obj): OtlpExemplar {
    const d = this.get(o, 'asDouble', 'as_double');
    const i = this.get(o, 'asInt', 'as_int');
    const id = (v: unknown, name: string) =>
      v === undefined || v === null ? '' : this.str(v, name).toLowerCase();
    return {
      attributes: this.attributes(this.get(o, 'filteredAttributes', 'filtered_attributes')),
      timeNs: this.u64(this.get(o, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano'),
      value:
        d !== undefined && d !== null
          ? this.double(d, 'asDouble')
          : i !== undefined && i !== null
            ? Number(this.i64(i, 'asInt'))
            : 0,
      traceId: id(this.get(o, 'traceId', 'trace_id'), 'traceId'),
      spanId: id(this.get(o, 'spanId', 'span_id'), 'spanId'),
    };
  }

  private attributes(v: unknown): Attr[] {
    return this.arr(v, 'attributes').map((kv, i) =>
      this.at(`attributes[${i}]`, () => {
        const o = this.obj(kv);
        const key = this.str(o.key, 'key');
        const value =
          o.value === undefined || o.value === null ? '' : scalarString(this.anyValue(o.value, 0));
        return { key, value: plainToString(value) };
      }),
    );
  }

  private anyValue(v: unknown, depth: number): Plain {
    if (depth > MAX_DEPTH) throw this.fail(`AnyValue nested deeper than ${MAX_DEPTH} levels`);
    const o = this.obj(v, 'value');
    if ('stringValue' in o || 'string_value' in o)
      return this.str(this.get(o, 'stringValue', 'string_value'), 'stringValue');
    if ('boolValue' in o || 'bool_value' in o)
      return this.bool(this.get(o, 'boolValue', 'bool_value'), 'boolValue');
    if ('intValue' in o || 'int_value' in o) {
      const n = this.i64(this.get(o, 'intValue', 'int_value'), 'intValue');
      return Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
    }
    if ('doubleValue' in o || 'double_value' in o)
      return this.double(this.get(o, 'doubleValue', 'double_value'), 'doubleValue');
    if ('bytesValue' in o || 'bytes_value' in o) {
      const b = this.str(this.get(o, 'bytesValue', 'bytes_value'), 'bytesValue');
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b)) throw this.fail('bytesValue is not base64', 'bytesValue');
      return Buffer.from(b, 'base64').toString('base64');
    }
    if ('arrayValue' in o || 'array_value' in o) {
      const a = this.get(o, 'arrayValue', 'array_value');
      if (a === null || a === undefined) return [];
      return this.arr(this.obj(a, 'arrayValue').values, 'values').map((x) => this.anyValue(x, depth + 1));
    }
    if ('kvlistValue' in o || 'kvlist_value' in o) {
      const a = this.get(o, 'kvlistValue', 'kvlist_value');
      const map: { [k: string]: Plain } = {};
      if (a === null || a === undefined) return map;
      for (const kv of this.arr(this.obj(a, 'kvlistValue').values, 'values')) {
        const ko = this.obj(kv, 'values');
        map[this.str(ko.key, 'key')] =
          ko.value === undefined || ko.value === null ? null : this.anyValue(ko.value, depth + 1);
      }
      return map;
    }
    return '';
  }
}

const kindOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;

export function decodeMetricsJson(text: string): OtlpMetricsRequest {
  return new JsonDecoder().request(parseJson(text));
}
