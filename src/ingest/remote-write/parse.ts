/**
 * Prometheus remote_write 1.0 (`prometheus.WriteRequest`) and 2.0 (`io.prometheus.write.v2.Request`,
 * with its symbol table) decoded by hand straight into columns: one entry per series (its labels)
 * and flat typed arrays of samples, never one object per sample (the hot path of metrics ingest).
 * Specs: https://prometheus.io/docs/specs/prw/remote_write_spec/ and .../remote_write_spec_2_0/
 *
 * v1: WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 *     TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
 *                  repeated Histogram histograms = 4; }
 *     Label { string name = 1; string value = 2; }   Sample { double value = 1; int64 timestamp = 2; }
 *     MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
 * v2: Request { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
 *     TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
 *                  repeated Exemplar exemplars = 4; Metadata metadata = 5; int64 created_timestamp = 6; }
 *     Metadata { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
 */
import {
  ProtobufReader,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  malformedProtobuf,
} from '../../lib/protobuf-reader.ts';
import { StringInterner } from '../../lib/string-interner.ts';

export interface RemoteWriteLabel {
  name: string;
  value: string;
}

export interface RemoteWriteMetadata {
  metricFamily: string;
  type: string;
  help: string;
  unit: string;
}

export interface RemoteWriteBatch {
  /** the labels of each series, as sent (not yet validated or sorted); decoded on first use */
  readonly series: RemoteWriteLabel[][];
  seriesCount: number;
  /** the labels of series i (decoded on demand) */
  labelsAt(i: number): RemoteWriteLabel[];
  /**
   * Series i's label fields as sent, when they are one run of bytes (v1 as Prometheus writes it):
   * bytes [rawKeyStart[i], rawKeyEnd[i]) of `body`, -1 otherwise (v2, whose labels are per-request
   * symbol references). Equal bytes are an equal series, so a known series is found without
   * decoding a label.
   */
  body: Uint8Array;
  rawKeyStart: Int32Array;
  rawKeyEnd: Int32Array;
  sampleCount: number;
  /** per sample: index into `series` */
  sampleSeries: Uint32Array;
  timestampsMs: Float64Array;
  values: Float64Array;
  /** 1 where the sample is a staleness marker (Prometheus' StaleNaN bit pattern) */
  stale: Uint8Array;
  metadata: RemoteWriteMetadata[];
  /** not stored yet: counted so the caller can report them */
  histogramCount: number;
  exemplarCount: number;
}

const METRIC_TYPES = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];
/** label names and values repeat across series and requests: one shared string each */
const interned = new StringInterner();

/** Prometheus' staleness marker: a NaN with this exact bit pattern (value.StaleNaN). */
const STALE_NAN_HI = 0x7ff00000;
const STALE_NAN_LO = 0x00000002;
const isStaleNaN = (b: Uint8Array, at: number): boolean =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) === STALE_NAN_LO &&
  (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) >>> 0 === STALE_NAN_HI;

function grown<T extends Uint32Array | Int32Array | Float64Array | Uint8Array>(
  a: T,
  make: (n: number) => T,
): T {
  const b = make(a.length * 2);
  b.set(a);
  return b;
}

/** The samples of a request as flat columns, sized from a first guess and doubled when full. */
class SampleColumns {
  count = 0;
  series: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
  stale: Uint8Array;
  constructor(capacity: number) {
    const n = Math.max(16, capacity);
    this.series = new Uint32Array(n);
    this.ts = new Float64Array(n);
    this.values = new Float64Array(n);
    this.stale = new Uint8Array(n);
  }
  /** Decodes one `Sample { double value = 1; int64 timestamp = 2; }` of series `series`. */
  read(r: ProtobufReader, end: number, series: number): void {
    let v = 0;
    let t = 0;
    let stale = 0;
    const b = r.buf;
    const p = r.pos;
    // fast path, the encoding every client writes: `09 <8-byte double> 10 <varint of ≤ 7 bytes>`
    // ending exactly at `end` (a non-negative timestamp below 2^49 ms); anything else → the loop
    if (end - p >= 11 && b[p] === 0x09 && b[p + 9] === 0x10) {
      let q = p + 10;
      let byte = 0x80;
      for (let mul = 1; byte >= 0x80 && q < end && mul <= 2 ** 42; mul *= 128) {
        byte = b[q++]!;
        t += (byte & 0x7f) * mul;
      }
      if (byte < 0x80 && q === end) {
        r.pos = p + 1;
        v = r.double(end);
        stale = isStaleNaN(b, p + 1) ? 1 : 0;
        r.pos = end;
        this.add(series, t, v, stale);
        return;
      }
      t = 0;
    }
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag >>> 3 === 1) {
        expect(r, tag, WIRE_I64, 'Sample.value');
        const at = r.pos;
        v = r.double(end);
        stale = isStaleNaN(b, at) ? 1 : 0;
      } else if (tag >>> 3 === 2) {
        expect(r, tag, WIRE_VARINT, 'Sample.timestamp');
        t = int64(r, end);
      } else r.skip(tag, end);
    }
    this.add(series, t, v, stale);
  }
  private add(series: number, t: number, v: number, stale: number): void {
    if (this.count === this.series.length) {
      this.series = grown(this.series, (n) => new Uint32Array(n));
      this.ts = grown(this.ts, (n) => new Float64Array(n));
      this.values = grown(this.values, (n) => new Float64Array(n));
      this.stale = grown(this.stale, (n) => new Uint8Array(n));
    }
    const i = this.count++;
    this.series[i] = series;
    this.ts[i] = t;
    this.values[i] = v;
    this.stale[i] = stale;
  }
}

/** Per series of a request: where its message and its run of label bytes are (v1). */
class SeriesRanges {
  count = 0;
  /** [start, end) of the TimeSeries message */
  start: Int32Array;
  end: Int32Array;
  /** [start, end) of its label fields when they are one run of bytes, else -1 */
  keyStart: Int32Array;
  keyEnd: Int32Array;
  constructor(capacity: number) {
    const n = Math.max(16, capacity);
    this.start = new Int32Array(n);
    this.end = new Int32Array(n);
    this.keyStart = new Int32Array(n);
    this.keyEnd = new Int32Array(n);
  }
  add(start: number, end: number): number {
    if (this.count === this.start.length) {
      this.start = grown(this.start, (n) => new Int32Array(n));
      this.end = grown(this.end, (n) => new Int32Array(n));
      this.keyStart = grown(this.keyStart, (n) => new Int32Array(n));
      this.keyEnd = grown(this.keyEnd, (n) => new Int32Array(n));
    }
    const i = this.count++;
    this.start[i] = start;
    this.end[i] = end;
    this.keyStart[i] = -1;
    this.keyEnd[i] = -1;
    return i;
  }
}

function str(r: ProtobufReader, end: number, what: string): string {
  const stop = r.lengthDelimited(end);
  const start = r.pos;
  r.pos = stop;
  try {
    return interned.decode(r.buf, start, stop);
  } catch {
    throw malformedProtobuf(`${what} at offset ${start} is not valid UTF-8`);
  }
}

/** int64 varint as a number (exact within ±2^53, which covers every millisecond timestamp). */
function int64(r: ProtobufReader, end: number): number {
  const lo = r.varint(end);
  const hi = r.hi;
  return hi >= 0x80000000 ? (hi - 0x100000000) * 0x100000000 + lo : hi * 0x100000000 + lo;
}

const expect = (r: ProtobufReader, tag: number, wire: number, name: string) => {
  if ((tag & 7) !== wire) throw r.wrongWireType(tag, name, wire);
};

export function decodeRemoteWriteV1(body: Uint8Array): RemoteWriteBatch {
  const r = new ProtobufReader(body);
  const end = body.length;
  // guesses from the size (backfill ~41 B per sample, live ~250 B per series); columns grow if short
  const out = new SampleColumns(body.length >>> 5);
  const series = new SeriesRanges(body.length >>> 7);
  const metadata: RemoteWriteMetadata[] = [];
  let histogramCount = 0;
  let exemplarCount = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    const field = tag >>> 3;
    if (field === 1) {
      expect(r, tag, WIRE_LEN, 'WriteRequest.timeseries');
      const tsEnd = r.lengthDelimited(end);
      const idx = series.add(r.pos, tsEnd);
      // the label fields' bytes, while they are one run; -2 once something else came between
      let keyStart = -1;
      let keyEnd = -1;
      while (r.pos < tsEnd) {
        const at = r.pos;
        const t2 = r.tag(tsEnd);
        const f2 = t2 >>> 3;
        if (f2 === 1) {
          expect(r, t2, WIRE_LEN, 'TimeSeries.labels');
          const lEnd = r.lengthDelimited(tsEnd);
          if (keyStart === -1) keyStart = at;
          else if (keyEnd !== at) keyStart = -2;
          keyEnd = lEnd;
          r.pos = lEnd;
        } else if (f2 === 2) {
          expect(r, t2, WIRE_LEN, 'TimeSeries.samples');
          out.read(r, r.lengthDelimited(tsEnd), idx);
        } else {
          if (f2 === 3) exemplarCount++;
          if (f2 === 4) histogramCount++;
          r.skip(t2, tsEnd);
        }
      }
      if (keyStart >= 0) {
        series.keyStart[idx] = keyStart;
        series.keyEnd[idx] = keyEnd;
      }
    } else if (field === 3) {
      expect(r, tag, WIRE_LEN, 'WriteRequest.metadata');
      const mEnd = r.lengthDelimited(end);
      const md: RemoteWriteMetadata = { metricFamily: '', type: 'unknown', help: '', unit: '' };
      while (r.pos < mEnd) {
        const t2 = r.tag(mEnd);
        const f2 = t2 >>> 3;
        if (f2 === 1 && (t2 & 7) === WIRE_VARINT) md.type = METRIC_TYPES[r.varint(mEnd)] ?? 'unknown';
        else if (f2 === 2 && (t2 & 7) === WIRE_LEN) md.metricFamily = str(r, mEnd, 'metric family name');
        else if (f2 === 4 && (t2 & 7) === WIRE_LEN) md.help = str(r, mEnd, 'help');
        else if (f2 === 5 && (t2 & 7) === WIRE_LEN) md.unit = str(r, mEnd, 'unit');
        else r.skip(t2, mEnd);
      }
      metadata.push(md);
    } else r.skip(tag, end);
  }
  const labelsAt = (i: number): RemoteWriteLabel[] => {
    const tsEnd = series.end[i]!;
    r.pos = series.start[i]!;
    const labels: RemoteWriteLabel[] = [];
    while (r.pos < tsEnd) {
      const t2 = r.tag(tsEnd);
      if (t2 >>> 3 !== 1) {
        r.skip(t2, tsEnd);
        continue;
      }
      const lEnd = r.lengthDelimited(tsEnd);
      let name = '';
      let value = '';
      while (r.pos < lEnd) {
        const t3 = r.tag(lEnd);
        if (t3 >>> 3 === 1 && (t3 & 7) === WIRE_LEN) name = str(r, lEnd, 'label name');
        else if (t3 >>> 3 === 2 && (t3 & 7) === WIRE_LEN) value = str(r, lEnd, 'label value');
        else r.skip(t3, lEnd);
      }
      labels.push({ name, value });
    }
    return labels;
  };
  return finish(
    body,
    series.count,
    labelsAt,
    series.keyStart,
    series.keyEnd,
    out,
    metadata,
    histogramCount,
    exemplarCount,
  );
}

export function decodeRemoteWriteV2(body: Uint8Array): RemoteWriteBatch {
  const r = new ProtobufReader(body);
  const end = body.length;
  // symbols come first in practice, but the spec does not promise an order: collect both passes
  const symbols: string[] = [];
  const seriesRanges: [number, number][] = [];
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag >>> 3 === 4) {
      expect(r, tag, WIRE_LEN, 'Request.symbols');
      symbols.push(str(r, end, 'symbol'));
    } else if (tag >>> 3 === 5) {
      expect(r, tag, WIRE_LEN, 'Request.timeseries');
      const tsEnd = r.lengthDelimited(end);
      seriesRanges.push([r.pos, tsEnd]);
      r.pos = tsEnd;
    } else r.skip(tag, end);
  }
  const sym = (ref: number, what: string): string => {
    const s = symbols[ref];
    if (s === undefined)
      throw malformedProtobuf(
        `${what} refers to symbol ${ref}, but the symbol table has ${symbols.length} entries`,
      );
    return s;
  };
  const out = new SampleColumns(seriesRanges.length);
  const series: RemoteWriteLabel[][] = [];
  const metadata: RemoteWriteMetadata[] = [];
  let histogramCount = 0;
  let exemplarCount = 0;
  for (const [start, tsEnd] of seriesRanges) {
    r.pos = start;
    const idx = series.length;
    const refs: number[] = [];
    let md: { type: string; help: number; unit: number } | null = null;
    while (r.pos < tsEnd) {
      const tag = r.tag(tsEnd);
      const f = tag >>> 3;
      if (f === 1) {
        if ((tag & 7) === WIRE_LEN) {
          const pEnd = r.lengthDelimited(tsEnd);
          while (r.pos < pEnd) refs.push(r.varint(pEnd));
        } else {
          expect(r, tag, WIRE_VARINT, 'TimeSeries.labels_refs');
          refs.push(r.varint(tsEnd));
        }
      } else if (f === 2) {
        expect(r, tag, WIRE_LEN, 'TimeSeries.samples');
        out.read(r, r.lengthDelimited(tsEnd), idx);
      } else if (f === 5) {
        expect(r, tag, WIRE_LEN, 'TimeSeries.metadata');
        const mEnd = r.lengthDelimited(tsEnd);
        md = { type: 'unknown', help: 0, unit: 0 };
        while (r.pos < mEnd) {
          const t2 = r.tag(mEnd);
          const f2 = t2 >>> 3;
          if (f2 === 1 && (t2 & 7) === WIRE_VARINT) md.type = METRIC_TYPES[r.varint(mEnd)] ?? 'unknown';
          else if (f2 === 3 && (t2 & 7) === WIRE_VARINT) md.help = r.varint(mEnd);
          else if (f2 === 4 && (t2 & 7) === WIRE_VARINT) md.unit = r.varint(mEnd);
          else r.skip(t2, mEnd);
        }
      } else {
        if (f === 3) histogramCount++;
        if (f === 4) exemplarCount++;
        r.skip(tag, tsEnd);
      }
    }
    if (refs.length % 2 !== 0)
      throw malformedProtobuf(`series ${idx} has an odd number (${refs.length}) of label references`);
    const labels: RemoteWriteLabel[] = [];
    for (let i = 0; i < refs.length; i += 2)
      labels.push({ name: sym(refs[i]!, 'a label name'), value: sym(refs[i + 1]!, 'a label value') });
    series.push(labels);
    if (md) {
      const name = labels.find((l) => l.name === '__name__')?.value ?? '';
      metadata.push({
        metricFamily: name,
        type: md.type,
        help: sym(md.help, 'metadata help'),
        unit: sym(md.unit, 'metadata unit'),
      });
    }
  }
  const noKeys = new Int32Array(series.length).fill(-1);
  return finish(
    body,
    series.length,
    (i) => series[i]!,
    noKeys,
    noKeys,
    out,
    metadata,
    histogramCount,
    exemplarCount,
  );
}

function finish(
  body: Uint8Array,
  seriesCount: number,
  labelsAt: (i: number) => RemoteWriteLabel[],
  keyStart: Int32Array,
  keyEnd: Int32Array,
  c: SampleColumns,
  metadata: RemoteWriteMetadata[],
  histogramCount: number,
  exemplarCount: number,
): RemoteWriteBatch {
  let decoded: RemoteWriteLabel[][] | null = null;
  return {
    get series() {
      return (decoded ??= Array.from({ length: seriesCount }, (_, i) => labelsAt(i)));
    },
    seriesCount,
    labelsAt,
    body,
    rawKeyStart: keyStart.subarray(0, seriesCount),
    rawKeyEnd: keyEnd.subarray(0, seriesCount),
    sampleCount: c.count,
    sampleSeries: c.series.subarray(0, c.count),
    timestampsMs: c.ts.subarray(0, c.count),
    values: c.values.subarray(0, c.count),
    stale: c.stale.subarray(0, c.count),
    metadata,
    histogramCount,
    exemplarCount,
  };
}
