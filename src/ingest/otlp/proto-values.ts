/**
 * Protobuf decoding of the OTLP messages shared by logs and traces (common.proto, resource.proto):
 * AnyValue, KeyValue, Resource, InstrumentationScope. Field numbers are those of
 * opentelemetry-proto v1.5 (https://github.com/open-telemetry/opentelemetry-proto).
 *
 * Decoding walks one ProtobufReader with explicit end offsets; values are read straight into the
 * batch builder. Strings are decoded from the body without copying it; byte values that end up in
 * the batch are copied, so the batch never pins (or sees reuse of) the request buffer.
 */
import {
  MAX_ANY_VALUE_DEPTH,
  RESOURCE,
  SCOPE,
  T_BOOL,
  T_BYTES,
  T_FLOAT,
  T_INT,
  T_JSON,
  T_STR,
  type TypeId,
} from './batch-builder.ts';
import type { LogBatchBuilder, SpanBatchBuilder } from './batch-builder.ts';
import { doubleJson, objectJson } from './otlp-mapping.ts';
import {
  malformedProtobuf,
  ProtobufReader,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
} from '../../lib/protobuf-reader.ts';
import { StringCache } from './string-cache.ts';
import type { FieldValue } from '../../write/column-batch.ts';

/** Tag constants: `field << 3 | wire type`. */
export const tagOf = (field: number, wire: number): number => (field << 3) | wire;

/** Known fields of a message by number, for reporting a wrong wire type: [name, wire type]. */
export type FieldSpec = readonly (readonly [string, number] | undefined)[];

/** Builds a FieldSpec from `{ number: [name, wire type] }`. */
export const fields = (entries: Record<number, readonly [string, number]>): FieldSpec => {
  const spec: (readonly [string, number] | undefined)[] = [];
  for (const [n, f] of Object.entries(entries)) spec[Number(n)] = f;
  return spec;
};

const ANY_VALUE_FIELDS = fields({
  1: ['string_value', WIRE_LEN],
  2: ['bool_value', WIRE_VARINT],
  3: ['int_value', WIRE_VARINT],
  4: ['double_value', WIRE_I64],
  5: ['array_value', WIRE_LEN],
  6: ['kvlist_value', WIRE_LEN],
  7: ['bytes_value', WIRE_LEN],
});
const KEY_VALUE_FIELDS = fields({ 1: ['key', WIRE_LEN], 2: ['value', WIRE_LEN] });
const LIST_FIELDS = fields({ 1: ['values', WIRE_LEN] });
const RESOURCE_FIELDS = fields({ 1: ['attributes', WIRE_LEN], 2: ['dropped_attributes_count', WIRE_VARINT] });
const SCOPE_FIELDS = fields({
  1: ['name', WIRE_LEN],
  2: ['version', WIRE_LEN],
  3: ['attributes', WIRE_LEN],
  4: ['dropped_attributes_count', WIRE_VARINT],
});

const T1_LEN = tagOf(1, WIRE_LEN);
const T2_VARINT = tagOf(2, WIRE_VARINT);
const T2_LEN = tagOf(2, WIRE_LEN);
const T3_VARINT = tagOf(3, WIRE_VARINT);
const T3_LEN = tagOf(3, WIRE_LEN);
const T4_I64 = tagOf(4, WIRE_I64);
const T4_VARINT = tagOf(4, WIRE_VARINT);
const T5_LEN = tagOf(5, WIRE_LEN);
const T6_LEN = tagOf(6, WIRE_LEN);
const T7_LEN = tagOf(7, WIRE_LEN);

/** Where record attributes go, as opposed to RESOURCE / SCOPE. */
export const RECORD = 2;
type Level = typeof RESOURCE | typeof SCOPE | typeof RECORD;

export class ProtoValueDecoder<B extends LogBatchBuilder | SpanBatchBuilder> {
  protected readonly r: ProtobufReader;
  protected readonly out: B;
  private readonly text: Buffer;
  /** The last AnyValue decoded by `anyValue`: its type, and value (bytes as a slice). */
  protected valueType: TypeId = T_STR;
  protected value: FieldValue = '';
  protected bytesStart = 0;
  protected bytesEnd = 0;
  protected scopeName = '';
  protected scopeVersion = '';
  /** Attribute keys, and short string values, repeat from record to record. */
  private readonly keys: StringCache;
  private readonly shortStrings: StringCache;

  constructor(body: Uint8Array, out: B) {
    this.r = new ProtobufReader(body);
    this.text = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.out = out;
    const decode = (start: number, end: number): string => this.string(start, end);
    this.keys = new StringCache(256, 48, decode);
    this.shortStrings = new StringCache(512, 24, decode);
  }

  /** A UTF-8 string field (invalid sequences become U+FFFD, as TextDecoder does). */
  protected string(start: number, end: number): string {
    return start === end ? '' : this.text.toString('utf8', start, end);
  }

  protected hex(start: number, end: number): string {
    return this.text.toString('hex', start, end);
  }

  /** Reads a length-delimited string field whose tag was just read. */
  protected readString(end: number): string {
    const e = this.r.lengthDelimited(end);
    const s = this.shortStrings.get(this.r.buf, this.r.pos, e);
    this.r.pos = e;
    return s;
  }

  /** Skips an unknown field, or refuses a known one with the wrong wire type. */
  protected other(tag: number, end: number, spec: FieldSpec): void {
    const known = spec[tag >>> 3];
    if (known !== undefined) throw this.r.wrongWireType(tag, known[0], known[1]);
    this.r.skip(tag, end);
  }

  /**
   * Decodes the AnyValue in [pos, end) into valueType/value; returns false when it is empty
   * (no field of the oneof set). Arrays and kvlists become JSON text. Bytes are left as the
   * slice bytesStart..bytesEnd.
   */
  protected anyValue(end: number, depth: number): boolean {
    const r = this.r;
    let present = false;
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case T1_LEN:
          this.value = this.readString(end);
          this.valueType = T_STR;
          break;
        case T2_VARINT:
          this.value = r.bool(end);
          this.valueType = T_BOOL;
          break;
        case T3_VARINT:
          this.value = r.int64(end);
          this.valueType = T_INT;
          break;
        case T4_I64:
          this.value = r.double(end);
          this.valueType = T_FLOAT;
          break;
        case T5_LEN: {
          const e = r.lengthDelimited(end);
          this.value = this.arrayJson(e, depth + 1);
          this.valueType = T_JSON;
          break;
        }
        case T6_LEN: {
          const e = r.lengthDelimited(end);
          this.value = this.kvlistJson(e, depth + 1);
          this.valueType = T_JSON;
          break;
        }
        case T7_LEN: {
          const e = r.lengthDelimited(end);
          this.bytesStart = r.pos;
          this.bytesEnd = e;
          this.valueType = T_BYTES;
          r.pos = e;
          break;
        }
        default:
          this.other(tag, end, ANY_VALUE_FIELDS);
          continue;
      }
      present = true;
    }
    return present;
  }

  /** The last decoded AnyValue as JSON text. */
  protected valueJson(): string {
    switch (this.valueType) {
      case T_STR:
        return JSON.stringify(this.value);
      case T_INT:
      case T_BOOL:
        return String(this.value);
      case T_FLOAT:
        return doubleJson(this.value as number);
      case T_BYTES:
        return `"${this.text.toString('base64', this.bytesStart, this.bytesEnd)}"`;
      case T_JSON:
        return this.value as string;
    }
  }

  /** The last decoded AnyValue as a batch value (bytes copied out of the body). */
  protected valueField(): FieldValue {
    return this.valueType === T_BYTES
      ? new Uint8Array(this.r.buf.subarray(this.bytesStart, this.bytesEnd))
      : this.value;
  }

  /** AnyValue in [pos, end) as JSON text; `null` for an empty AnyValue. */
  protected anyValueJson(end: number, depth: number): string {
    return this.anyValue(end, depth) ? this.valueJson() : 'null';
  }

  private checkDepth(depth: number): void {
    if (depth > MAX_ANY_VALUE_DEPTH) {
      throw malformedProtobuf(
        `AnyValue nested more than ${MAX_ANY_VALUE_DEPTH} levels deep at offset ${this.r.pos}`,
      );
    }
  }

  private arrayJson(end: number, depth: number): string {
    this.checkDepth(depth);
    const r = this.r;
    let out = '[';
    let first = true;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T1_LEN) {
        this.other(tag, end, LIST_FIELDS);
        continue;
      }
      const e = r.lengthDelimited(end);
      out += (first ? '' : ',') + this.anyValueJson(e, depth);
      first = false;
    }
    return out + ']';
  }

  private kvlistJson(end: number, depth: number): string {
    this.checkDepth(depth);
    const r = this.r;
    const keys: string[] = [];
    const values: string[] = [];
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T1_LEN) {
        this.other(tag, end, LIST_FIELDS);
        continue;
      }
      const e = r.lengthDelimited(end);
      this.keyValue(e, depth, keys, values, true);
    }
    return objectJson(keys, values);
  }

  /**
   * A KeyValue in [pos, end) appended to keys/values as JSON text. Empty values are kept as
   * null inside kvlists (`keepEmpty`) and dropped from attribute maps (event/link attributes).
   */
  protected keyValue(end: number, depth: number, keys: string[], values: string[], keepEmpty: boolean): void {
    const r = this.r;
    let keyStart = 0;
    let keyEnd = 0;
    let valueStart = -1;
    let valueEnd = -1;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === T1_LEN) {
        keyEnd = r.lengthDelimited(end);
        keyStart = r.pos;
        r.pos = keyEnd;
      } else if (tag === T2_LEN) {
        valueEnd = r.lengthDelimited(end);
        valueStart = r.pos;
        r.pos = valueEnd;
      } else {
        this.other(tag, end, KEY_VALUE_FIELDS);
      }
    }
    let json = 'null';
    let present = false;
    if (valueStart >= 0) {
      r.pos = valueStart;
      present = this.anyValue(valueEnd, depth);
      if (present) json = this.valueJson();
      r.pos = end;
    }
    if (!present && !keepEmpty) return;
    keys.push(this.keys.get(r.buf, keyStart, keyEnd));
    values.push(json);
  }

  /** A KeyValue in [pos, end) written to the batch as an attribute column value. */
  protected attribute(end: number, level: Level): void {
    const r = this.r;
    let keyStart = 0;
    let keyEnd = 0;
    let valueStart = -1;
    let valueEnd = -1;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === T1_LEN) {
        keyEnd = r.lengthDelimited(end);
        keyStart = r.pos;
        r.pos = keyEnd;
      } else if (tag === T2_LEN) {
        valueEnd = r.lengthDelimited(end);
        valueStart = r.pos;
        r.pos = valueEnd;
      } else {
        this.other(tag, end, KEY_VALUE_FIELDS);
      }
    }
    if (valueStart < 0) return;
    r.pos = valueStart;
    const present = this.anyValue(valueEnd, 0);
    r.pos = end;
    if (!present) return;
    const key = this.keys.get(r.buf, keyStart, keyEnd);
    if (level === RECORD) this.out.recordAttr(key, this.valueType, this.valueField());
    else this.out.groupAttr(level, key, this.valueType, this.valueField());
  }

  /** Resource in [pos, end). */
  protected resource(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === T1_LEN) this.attribute(r.lengthDelimited(end), RESOURCE);
      else if (tag === T2_VARINT) r.varint(end);
      else this.other(tag, end, RESOURCE_FIELDS);
    }
  }

  /** InstrumentationScope in [pos, end): name and version are kept for `endScope`. */
  protected scope(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === T1_LEN) this.scopeName = this.readString(end);
      else if (tag === T2_LEN) this.scopeVersion = this.readString(end);
      else if (tag === T3_LEN) this.attribute(r.lengthDelimited(end), SCOPE);
      else if (tag === T4_VARINT) r.varint(end);
      else this.other(tag, end, SCOPE_FIELDS);
    }
  }
}
