/**
 * Zipkin v2 protobuf (`POST /api/v2/spans` with `Content-Type: application/x-protobuf`; format
 * `zipkin-proto`) → ColumnBatch. Hand-written against zipkin.proto `ListOfSpans`
 * (https://github.com/openzipkin/zipkin-api/blob/master/zipkin.proto); ids are bytes (trace id 8 or
 * 16, span ids 8), times fixed64 / uint64 µs. Pure. Malformed protobuf refuses the request (400).
 */
import { ProtoFieldDecoder } from '../proto-fields.ts';
import { SpanBatchBuilder } from '../otlp/batch-builder.ts';
import { tagOf } from '../otlp/proto-values.ts';
import {
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  malformedProtobuf,
} from '../../lib/protobuf-reader.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { ForeignSpanMapper } from '../foreign-span.ts';
import { mapZipkinSpan, type ZipkinEndpoint, type ZipkinSpan } from './zipkin-span.ts';

const L1 = tagOf(1, WIRE_LEN);
const L2 = tagOf(2, WIRE_LEN);
const L3 = tagOf(3, WIRE_LEN);
const V4 = tagOf(4, WIRE_VARINT);
const L5 = tagOf(5, WIRE_LEN);
const F6 = tagOf(6, WIRE_I64);
const V7 = tagOf(7, WIRE_VARINT);
const L8 = tagOf(8, WIRE_LEN);
const L9 = tagOf(9, WIRE_LEN);
const L10 = tagOf(10, WIRE_LEN);
const L11 = tagOf(11, WIRE_LEN);
const F1 = tagOf(1, WIRE_I64);

/** zipkin.proto Span.Kind → OTLP kind. */
const KINDS = [0, 3, 2, 4, 5];

/** A 16-byte IPv6 address in its short text form (RFC 5952: the longest zero run as `::`). */
export function ipv6Text(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

class ZipkinProtoDecoder extends ProtoFieldDecoder {
  spans(nowNs: bigint): ColumnBatch {
    const r = this.r;
    const end = r.buf.length;
    const out = new SpanBatchBuilder();
    const m = new ForeignSpanMapper(out);
    let i = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== L1) {
        r.skip(tag, end);
        continue;
      }
      const path = `spans[${i++}]`;
      mapZipkinSpan(m, this.span(r.lengthDelimited(end), path), path, nowNs);
    }
    return out.finish();
  }

  private span(end: number, path: string): ZipkinSpan {
    const r = this.r;
    const z: ZipkinSpan = {
      traceId: '',
      id: '',
      parentId: '',
      kind: 0,
      name: '',
      timestampUs: null,
      durationUs: 0,
      local: null,
      remote: null,
      annotations: [],
      tags: [],
    };
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case L1:
          z.traceId = this.id(end, [8, 16], `${path}.trace_id`);
          break;
        case L2:
          z.parentId = this.id(end, [0, 8], `${path}.parent_id`);
          break;
        case L3:
          z.id = this.id(end, [8], `${path}.id`);
          break;
        case V4:
          z.kind = KINDS[r.int32(end)] ?? 0;
          break;
        case L5:
          z.name = this.string(end);
          break;
        case F6: {
          const t = r.fixed64(end);
          z.timestampUs = t === 0n ? null : t;
          break;
        }
        case V7:
          z.durationUs = r.int64(end);
          break;
        case L8:
          z.local = this.endpoint(r.lengthDelimited(end));
          break;
        case L9:
          z.remote = this.endpoint(r.lengthDelimited(end));
          break;
        case L10:
          z.annotations.push(this.annotation(r.lengthDelimited(end)));
          break;
        case L11:
          z.tags.push(this.mapEntry(r.lengthDelimited(end)));
          break;
        default:
          r.skip(tag, end);
      }
    }
    return z;
  }

  private endpoint(end: number): ZipkinEndpoint {
    const r = this.r;
    const e: ZipkinEndpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) e.serviceName = this.string(end);
      else if (tag === L2 || tag === L3) {
        const [s, x] = this.slice(end);
        const n = tag === L2 ? 4 : 16;
        if (x - s === 0) continue;
        if (x - s !== n)
          throw malformedProtobuf(
            `endpoint ${tag === L2 ? 'ipv4' : 'ipv6'} is ${x - s} bytes, expected ${n}`,
          );
        if (tag === L2) e.ipv4 = Array.from(r.buf.subarray(s, x)).join('.');
        else e.ipv6 = ipv6Text(r.buf.subarray(s, x));
      } else if (tag === V4) e.port = r.int32(end) & 0xffff;
      else r.skip(tag, end);
    }
    return e;
  }

  private annotation(end: number): { timestampUs: bigint; value: string } {
    const r = this.r;
    const a = { timestampUs: 0n, value: '' };
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === F1) a.timestampUs = r.fixed64(end);
      else if (tag === L2) a.value = this.string(end);
      else r.skip(tag, end);
    }
    return a;
  }

  private mapEntry(end: number): [string, string] {
    const r = this.r;
    let key = '';
    let value = '';
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === L1) key = this.string(end);
      else if (tag === L2) value = this.string(end);
      else r.skip(tag, end);
    }
    return [key, value];
  }
}

export function decodeZipkinProto(body: Uint8Array, nowNs: bigint): ColumnBatch {
  return new ZipkinProtoDecoder(body).spans(nowNs);
}
