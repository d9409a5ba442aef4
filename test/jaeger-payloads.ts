/**
 * Hand-built Jaeger payloads for the encodings no JavaScript client sends: the compact Thrift
 * protocol of the agent's UDP port 6831 (Go and Java clients spoke it), from jaeger.thrift /
 * agent.thrift and the Thrift compact protocol spec; and jaeger.api_v2 protobuf for gRPC
 * `PostSpans`, from Jaeger's published model.proto and collector.proto.
 */
import { createSocket } from 'node:dgram';
import { ProtobufWriter } from '../src/lib/protobuf-writer.ts';

/** A free UDP port: bound and released (the server binds it right after). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', () => ok()));
  const port = s.address().port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

export async function sendUdp(port: number, datagram: Buffer): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((ok, fail) => s.send(datagram, port, '127.0.0.1', (e) => (e ? fail(e) : ok())));
  s.close();
}

export interface TestSpan {
  traceIdHigh: bigint;
  traceIdLow: bigint;
  spanId: bigint;
  parentSpanId: bigint;
  name: string;
  startUs: bigint;
  durationUs: bigint;
  tags: [string, string | bigint | boolean | number][];
  logs?: [bigint, [string, string | bigint | boolean | number][]][];
  followsFrom?: [bigint, bigint, bigint];
}

/** Thrift compact protocol writer (types: 1/2 bool, 5 i32, 6 i64, 7 double, 8 binary, 9 list, 12 struct). */
class CompactWriter {
  private readonly out: number[] = [];
  private last: number[] = [];
  private id = 0;

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x > 0x7fn) {
      this.out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.out.push(Number(x));
  }
  private zigzag(v: bigint): void {
    this.varint(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
  }
  field(id: number, type: number): this {
    const delta = id - this.id;
    if (delta > 0 && delta <= 15) this.out.push((delta << 4) | type);
    else {
      this.out.push(type);
      this.zigzag(BigInt(id));
    }
    this.id = id;
    return this;
  }
  i32(id: number, v: number): this {
    this.field(id, 5).zigzag(BigInt(v));
    return this;
  }
  i64(id: number, v: bigint): this {
    this.field(id, 6).zigzag(v);
    return this;
  }
  bool(id: number, v: boolean): this {
    return this.field(id, v ? 1 : 2);
  }
  double(id: number, v: number): this {
    this.field(id, 7);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.out.push(...b);
    return this;
  }
  string(id: number | null, s: string): this {
    if (id !== null) this.field(id, 8);
    const b = Buffer.from(s);
    this.varint(BigInt(b.length));
    this.out.push(...b);
    return this;
  }
  begin(id: number | null): this {
    if (id !== null) this.field(id, 12);
    this.last.push(this.id);
    this.id = 0;
    return this;
  }
  end(): this {
    this.out.push(0);
    this.id = this.last.pop()!;
    return this;
  }
  list(id: number, elemType: number, n: number): this {
    this.field(id, 9);
    this.out.push(n < 15 ? (n << 4) | elemType : 0xf0 | elemType);
    if (n >= 15) this.varint(BigInt(n));
    return this;
  }
  message(name: string): this {
    this.out.push(0x82, (4 << 5) | 1); // protocol id, ONEWAY (4) | version 1
    this.varint(1n);
    return this.string(null, name);
  }
  tag(key: string, v: string | bigint | boolean | number): this {
    this.begin(null).string(1, key);
    if (typeof v === 'string') this.i32(2, 0).string(3, v);
    else if (typeof v === 'number') this.i32(2, 1).double(4, v);
    else if (typeof v === 'boolean') this.i32(2, 2).bool(5, v);
    else this.i32(2, 3).i64(6, v);
    return this.end();
  }
  finish(): Buffer {
    return Buffer.from(this.out);
  }
}

/** `Agent.emitBatch(Batch)` in the compact protocol, one datagram. */
export function compactEmitBatch(
  service: string,
  processTags: [string, string][],
  spans: TestSpan[],
): Buffer {
  const w = new CompactWriter().message('emitBatch').begin(null).begin(1);
  w.begin(1).string(1, service).list(2, 12, processTags.length);
  for (const [k, v] of processTags) w.tag(k, v);
  w.end();
  w.list(2, 12, spans.length);
  for (const s of spans) {
    w.begin(null)
      .i64(1, s.traceIdLow)
      .i64(2, s.traceIdHigh)
      .i64(3, s.spanId)
      .i64(4, s.parentSpanId)
      .string(5, s.name);
    if (s.followsFrom) {
      w.list(6, 12, 1);
      const [hi, lo, id] = s.followsFrom;
      w.begin(null).i32(1, 1).i64(2, lo).i64(3, hi).i64(4, id).end();
    }
    w.i32(7, 1).i64(8, s.startUs).i64(9, s.durationUs).list(10, 12, s.tags.length);
    for (const [k, v] of s.tags) w.tag(k, v);
    w.list(11, 12, s.logs?.length ?? 0);
    for (const [ts, fields] of s.logs ?? []) {
      w.begin(null).i64(1, ts).list(2, 12, fields.length);
      for (const [k, v] of fields) w.tag(k, v);
      w.end();
    }
    w.end();
  }
  return w.end().end().finish();
}

const idBytes = (v: bigint, n: number) => {
  const b = Buffer.alloc(n);
  if (n === 8) b.writeBigUInt64BE(BigInt.asUintN(64, v));
  else {
    b.writeBigUInt64BE(BigInt.asUintN(64, v >> 64n), 0);
    b.writeBigUInt64BE(BigInt.asUintN(64, v), 8);
  }
  return b;
};

const keyValue = (key: string, v: string | bigint | boolean | number) => {
  const w = new ProtobufWriter().string(1, key);
  if (typeof v === 'string') return w.string(3, v);
  if (typeof v === 'boolean') return w.uint(2, 1).uint(4, v ? 1 : 0);
  if (typeof v === 'bigint') return w.uint(2, 2).uint(5, v);
  return w.uint(2, 3).double(6, v);
};

const timestamp = (ns: bigint) =>
  new ProtobufWriter().uint(1, ns / 1_000_000_000n).uint(2, ns % 1_000_000_000n);

/** jaeger.api_v2.PostSpansRequest { Batch batch = 1 { repeated Span spans = 1; Process process = 2 } }. */
export function postSpansRequest(
  service: string,
  processTags: [string, string][],
  spans: (Omit<TestSpan, 'startUs' | 'durationUs'> & { startNs: bigint; durationNs: bigint })[],
): Uint8Array {
  const batch = new ProtobufWriter();
  for (const s of spans) {
    const span = new ProtobufWriter()
      .bytesField(1, idBytes((s.traceIdHigh << 64n) | BigInt.asUintN(64, s.traceIdLow), 16))
      .bytesField(2, idBytes(s.spanId, 8))
      .string(3, s.name);
    if (s.parentSpanId !== 0n) {
      span.message(
        4,
        new ProtobufWriter()
          .bytesField(1, idBytes((s.traceIdHigh << 64n) | s.traceIdLow, 16))
          .bytesField(2, idBytes(s.parentSpanId, 8)),
      );
    }
    if (s.followsFrom) {
      const [hi, lo, id] = s.followsFrom;
      span.message(
        4,
        new ProtobufWriter()
          .bytesField(1, idBytes((hi << 64n) | lo, 16))
          .bytesField(2, idBytes(id, 8))
          .uint(3, 1),
      );
    }
    span.uint(5, 1).message(6, timestamp(s.startNs)).message(7, timestamp(s.durationNs));
    for (const [k, v] of s.tags) span.message(8, keyValue(k, v));
    for (const [ts, fields] of s.logs ?? []) {
      const log = new ProtobufWriter().message(1, timestamp(ts));
      for (const [k, v] of fields) log.message(2, keyValue(k, v));
      span.message(9, log);
    }
    batch.message(1, span);
  }
  const proc = new ProtobufWriter().string(1, service);
  for (const [k, v] of processTags) proc.message(2, keyValue(k, v));
  batch.message(2, proc);
  return new ProtobufWriter().message(1, batch).finish();
}
