/**
 * Loki push protobuf (logproto.PushRequest, after snappy) → log rows. Schema written from Loki's
 * published pkg/push/push.proto (gogoproto options dropped: they do not change the wire format):
 *
 *   message PushRequest     { repeated StreamAdapter streams = 1; }
 *   message StreamAdapter   { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 *   message EntryAdapter    { google.protobuf.Timestamp timestamp = 1; string line = 2;
 *                             repeated LabelPairAdapter structuredMetadata = 3; }
 *   message LabelPairAdapter { string name = 1; string value = 2; }
 *   message Timestamp       { int64 seconds = 1; int32 nanos = 2; }
 *
 * Same mapping as the JSON form (parse-json.ts). Strings must be valid UTF-8.
 */
import { malformedProtobuf, ProtobufReader, WIRE_LEN, WIRE_VARINT } from '../../lib/protobuf-reader.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { LogRows } from '../log-rows.ts';
import { fields, tagOf, type FieldSpec } from '../otlp/proto-values.ts';
import { utf8Slice } from '../utf8.ts';
import { parseLabelSelector } from './labels.ts';

const T1_LEN = tagOf(1, WIRE_LEN);
const T2_LEN = tagOf(2, WIRE_LEN);
const T3_LEN = tagOf(3, WIRE_LEN);
const T1_VARINT = tagOf(1, WIRE_VARINT);
const T2_VARINT = tagOf(2, WIRE_VARINT);

const PUSH_FIELDS = fields({ 1: ['streams', WIRE_LEN] });
const STREAM_FIELDS = fields({ 1: ['labels', WIRE_LEN], 2: ['entries', WIRE_LEN], 3: ['hash', WIRE_VARINT] });
const ENTRY_FIELDS = fields({
  1: ['timestamp', WIRE_LEN],
  2: ['line', WIRE_LEN],
  3: ['structuredMetadata', WIRE_LEN],
});
const PAIR_FIELDS = fields({ 1: ['name', WIRE_LEN], 2: ['value', WIRE_LEN] });
const TIMESTAMP_FIELDS = fields({ 1: ['seconds', WIRE_VARINT], 2: ['nanos', WIRE_VARINT] });

class LokiProtoDecoder {
  private readonly r: ProtobufReader;
  private readonly buf: Buffer;
  private readonly rows: LogRows;
  /** label strings repeat from request to request within a stream: parse each once per request */
  private readonly parsed = new Map<string, [string, string][]>();

  constructor(body: Uint8Array, nowNs: bigint) {
    this.r = new ProtobufReader(body);
    this.buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.rows = new LogRows(nowNs);
  }

  private other(tag: number, end: number, spec: FieldSpec): void {
    const known = spec[tag >>> 3];
    if (known !== undefined) throw this.r.wrongWireType(tag, known[0], known[1]);
    this.r.skip(tag, end);
  }

  private text(end: number, what: string): string {
    const e = this.r.lengthDelimited(end);
    const s = utf8Slice(this.buf, this.r.pos, e, what);
    this.r.pos = e;
    return s;
  }

  decode(): ColumnBatch {
    const r = this.r;
    const end = this.buf.length;
    let si = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T1_LEN) {
        this.other(tag, end, PUSH_FIELDS);
        continue;
      }
      const e = r.lengthDelimited(end);
      this.stream(e, si++);
    }
    return this.rows.finish();
  }

  private stream(end: number, si: number): void {
    const r = this.r;
    const rows = this.rows;
    let hasLabels = false;
    let ei = 0;
    rows.beginLabels();
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === T1_LEN) {
        const where = `streams[${si}].labels`;
        const text = this.text(end, where);
        let pairs = this.parsed.get(text);
        if (pairs === undefined) {
          pairs = parseLabelSelector(text, where);
          this.parsed.set(text, pairs);
        }
        for (const [name, value] of pairs) rows.label(name, value);
        hasLabels = true;
      } else if (tag === T2_LEN) {
        const e = r.lengthDelimited(end);
        this.entry(e, `streams[${si}].entries[${ei++}]`);
      } else {
        this.other(tag, end, STREAM_FIELDS);
      }
    }
    if (!hasLabels)
      throw malformedProtobuf(`streams[${si}] has no labels; at least one label pair is required per stream`);
    rows.endLabels();
  }

  private entry(end: number, where: string): void {
    const r = this.r;
    const rows = this.rows;
    let ts = 0n;
    let line = '';
    rows.beginRecord();
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === T1_LEN) {
        const e = r.lengthDelimited(end);
        ts = this.timestamp(e);
      } else if (tag === T2_LEN) {
        line = this.text(end, `${where}.line`);
      } else if (tag === T3_LEN) {
        const e = r.lengthDelimited(end);
        let name = '';
        let value = '';
        while (r.pos < e) {
          const t = r.tag(e);
          if (t === T1_LEN) name = this.text(e, `${where}.structuredMetadata name`);
          else if (t === T2_LEN) value = this.text(e, `${where}.structuredMetadata value`);
          else this.other(t, e, PAIR_FIELDS);
        }
        if (name !== '') rows.attrString(name, value);
      } else {
        this.other(tag, end, ENTRY_FIELDS);
      }
    }
    rows.emit(ts, line);
  }

  private timestamp(end: number): bigint {
    const r = this.r;
    let seconds = 0n;
    let nanos = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === T1_VARINT) seconds = r.int64(end);
      else if (tag === T2_VARINT) nanos = r.int32(end);
      else this.other(tag, end, TIMESTAMP_FIELDS);
    }
    if (nanos < 0 || nanos > 999_999_999) {
      throw malformedProtobuf(`timestamp nanos ${nanos} is outside 0..999999999`);
    }
    return seconds * 1_000_000_000n + BigInt(nanos);
  }
}

/** `p.body` is the PushRequest after snappy decompression. */
export function decodeLokiProto(p: IngestPayload): ColumnBatch {
  return new LokiProtoDecoder(p.body, p.nowNs).decode();
}
