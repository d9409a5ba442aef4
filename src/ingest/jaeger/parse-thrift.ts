/**
 * Jaeger Thrift → ColumnBatch: a `Batch` struct of jaeger.thrift (the IDL ships in jaeger-client,
 * jaeger-idl/thrift/jaeger.thrift), in the binary protocol as `POST /api/traces` carries it (format
 * `jaeger-thrift-binary`), or wrapped in the agent's `Agent.emitBatch` oneway message as UDP
 * datagrams carry it (binary: 6832, compact: 6831; format `jaeger-thrift-compact`). Pure.
 * Malformed Thrift and invalid spans refuse the whole request (400).
 */
import { SpanBatchBuilder, type TypeId } from '../otlp/batch-builder.ts';
import {
  malformedThrift,
  T_BOOL,
  T_DOUBLE,
  T_I32,
  T_I64,
  T_LIST,
  T_STOP,
  T_STRING,
  T_STRUCT,
  ThriftBinaryReader,
  ThriftCompactReader,
  type ThriftReader,
} from '../../lib/thrift-reader.ts';
import type { ColumnBatch, FieldValue } from '../../write/column-batch.ts';
import { ForeignSpanMapper, microsToNanos, u64Hex } from '../foreign-span.ts';
import {
  emptyJaegerSpan,
  mapJaegerSpans,
  THRIFT_TAG_TYPES,
  type JaegerProcess,
  type JaegerRef,
  type JaegerSpan,
  type JaegerTag,
} from './jaeger-span.ts';

/** Reads a field whose wire type must be `want`, else skips it (a sender from another IDL version). */
function expect(r: ThriftReader, type: number, want: number): boolean {
  if (type === want) return true;
  r.skip(type);
  return false;
}

function list<T>(r: ThriftReader, type: number, read: () => T): T[] {
  if (!expect(r, type, T_LIST)) return [];
  const [et, n] = r.listBegin();
  if (et !== T_STRUCT) {
    for (let i = 0; i < n; i++) r.skip(et);
    return [];
  }
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(read());
  return out;
}

/** Iterates a struct's fields. */
function struct(r: ThriftReader, field: (type: number, id: number) => void): void {
  r.structBegin();
  for (;;) {
    const [type, id] = r.fieldBegin();
    if (type === T_STOP) break;
    field(type, id);
  }
  r.structEnd();
}

function tag(r: ThriftReader): JaegerTag {
  let key = '';
  let vType = 0;
  let str = '';
  let dbl = 0;
  let bool = false;
  let long = 0n;
  let bin: [number, number] = [0, 0];
  struct(r, (type, id) => {
    if (id === 1 && expect(r, type, T_STRING)) key = r.string();
    else if (id === 2 && expect(r, type, T_I32)) vType = r.i32();
    else if (id === 3 && expect(r, type, T_STRING)) str = r.string();
    else if (id === 4 && expect(r, type, T_DOUBLE)) dbl = r.double();
    else if (id === 5 && expect(r, type, T_BOOL)) bool = r.bool();
    else if (id === 6 && expect(r, type, T_I64)) long = r.i64();
    else if (id === 7 && expect(r, type, T_STRING)) bin = r.binary();
    else if (id < 1 || id > 7) r.skip(type);
  });
  const t: TypeId | undefined = THRIFT_TAG_TYPES[vType];
  if (t === undefined) throw malformedThrift(`tag "${key.slice(0, 60)}" has unknown type ${vType}`);
  const values: FieldValue[] = [str, dbl, bool, long, r.buf.slice(bin[0], bin[1])];
  return { key, type: t, value: values[vType]! };
}

function process(r: ThriftReader): JaegerProcess {
  const p: JaegerProcess = { serviceName: '', tags: [] };
  struct(r, (type, id) => {
    if (id === 1 && expect(r, type, T_STRING)) p.serviceName = r.string();
    else if (id === 2) p.tags = list(r, type, () => tag(r));
    else if (id !== 1) r.skip(type);
  });
  return p;
}

function i64(r: ThriftReader, type: number): bigint {
  return expect(r, type, T_I64) ? r.i64() : 0n;
}

function ref(r: ThriftReader): JaegerRef {
  let type = 0;
  let low = 0n;
  let high = 0n;
  let span = 0n;
  struct(r, (t, id) => {
    if (id === 1 && expect(r, t, T_I32)) type = r.i32();
    else if (id === 2) low = i64(r, t);
    else if (id === 3) high = i64(r, t);
    else if (id === 4) span = i64(r, t);
    else if (id !== 1) r.skip(t);
  });
  return { type, traceId: u64Hex(high) + u64Hex(low), spanId: u64Hex(span) };
}

function span(r: ThriftReader, path: string): JaegerSpan {
  const j = emptyJaegerSpan();
  let low = 0n;
  let high = 0n;
  let startUs = 0n;
  let durationUs = 0n;
  struct(r, (type, id) => {
    switch (id) {
      case 1:
        low = i64(r, type);
        break;
      case 2:
        high = i64(r, type);
        break;
      case 3:
        j.spanId = u64Hex(i64(r, type));
        break;
      case 4:
        j.parentSpanId = u64Hex(i64(r, type));
        break;
      case 5:
        if (expect(r, type, T_STRING)) j.name = r.string();
        break;
      case 6:
        j.refs = list(r, type, () => ref(r));
        break;
      case 7:
        if (expect(r, type, T_I32)) j.flags = r.i32();
        break;
      case 8:
        startUs = i64(r, type);
        break;
      case 9:
        durationUs = i64(r, type);
        break;
      case 10:
        j.tags = list(r, type, () => tag(r));
        break;
      case 11:
        j.logs = list(r, type, () => {
          const log = { timeNs: 0n, fields: [] as JaegerTag[] };
          struct(r, (t, lid) => {
            if (lid === 1) log.timeNs = microsToNanos(i64(r, t), `${path}.logs.timestamp`);
            else if (lid === 2) log.fields = list(r, t, () => tag(r));
            else r.skip(t);
          });
          return log;
        });
        break;
      default:
        r.skip(type);
    }
  });
  j.traceId = u64Hex(high) + u64Hex(low);
  j.startNs = microsToNanos(startUs, `${path}.startTime`);
  j.durationNs = microsToNanos(durationUs, `${path}.duration`);
  return j;
}

/** A `Batch` struct at the reader's position → rows. */
function batch(r: ThriftReader, out: SpanBatchBuilder): void {
  let proc: JaegerProcess | null = null;
  let spans: JaegerSpan[] = [];
  let i = 0;
  struct(r, (type, id) => {
    if (id === 1 && expect(r, type, T_STRUCT)) proc = process(r);
    else if (id === 2) spans = list(r, type, () => span(r, `spans[${i++}]`));
    else if (id !== 1) r.skip(type);
  });
  mapJaegerSpans(new ForeignSpanMapper(out), proc, spans, '');
}

/** `POST /api/traces`: the body is one binary-protocol Batch. */
export function decodeJaegerThriftBatch(body: Uint8Array): ColumnBatch {
  const r = new ThriftBinaryReader(body);
  const out = new SpanBatchBuilder();
  batch(r, out);
  if (r.pos !== body.length)
    throw malformedThrift(`${body.length - r.pos} bytes after the Batch at offset ${r.pos}`);
  return out.finish();
}

/** A UDP datagram: `Agent.emitBatch(1: Batch batch)` as a oneway message, binary or compact. */
export function decodeJaegerAgentMessage(body: Uint8Array, compact: boolean): ColumnBatch {
  const r = compact ? new ThriftCompactReader(body) : new ThriftBinaryReader(body);
  const msg = r.messageBegin();
  if (msg.name !== 'emitBatch') {
    throw malformedThrift(
      `agent method "${msg.name.slice(0, 40)}" is not supported; only emitBatch (jaeger.thrift Batch)`,
    );
  }
  const out = new SpanBatchBuilder();
  struct(r, (type, id) => {
    if (id === 1 && type === T_STRUCT) batch(r, out);
    else r.skip(type);
  });
  return out.finish();
}
