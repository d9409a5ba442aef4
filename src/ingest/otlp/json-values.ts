/**
 * OTLP/JSON decoding of the shared messages (AnyValue, KeyValue, Resource, InstrumentationScope)
 * and of scalar fields, following the OTLP/JSON rules
 * (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): lowerCamelCase keys (the
 * original snake_case names are accepted too, as the protobuf JSON mapping allows), trace and
 * span ids as hex (any case), enums as integers (names accepted too), 64-bit integers as decimal
 * strings or numbers, bytes as base64. Unknown keys are ignored, as the spec requires.
 *
 * Invariants:
 * - User-supplied keys are only ever compared or used as Map keys, never assigned into plain
 *   objects, so `__proto__` and friends are harmless.
 * - 64-bit integers never pass through a double: strings are parsed with BigInt. JSON.parse has
 *   already rounded a number literal above 2^53 (Node 20 has no reviver `context.source`), so
 *   such a number is refused with a request to send a string, rather than stored wrong.
 * - Every problem is a MoleError (400, MS_ERR_BAD_JSON) naming the JSON path.
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
  type LogBatchBuilder,
  type SpanBatchBuilder,
  type TypeId,
} from './batch-builder.ts';
import { doubleJson, idProblem, isZeroHex, objectJson } from './otlp-mapping.ts';
import { badRequest, type MoleError } from '../../lib/errors.ts';
import type { FieldValue } from '../../write/column-batch.ts';

export type Json = unknown;
/** A parsed JSON object; keys are read, never written. */
export type JsonObject = Readonly<Record<string, unknown>>;

export const RECORD = 2;
type Level = typeof RESOURCE | typeof SCOPE | typeof RECORD;

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const UNSIGNED = /^[0-9]{1,20}$/;
const SIGNED = /^-?[0-9]{1,19}$/;
const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const FLOAT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

export const badJson = (message: string): MoleError => badRequest(message, 'MS_ERR_BAD_JSON', 'bad_json');

export function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw badJson(`malformed JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class JsonValueDecoder<B extends LogBatchBuilder | SpanBatchBuilder> {
  protected readonly out: B;
  /** The JSON path of the value being decoded: names and array indices. */
  private readonly path: (string | number)[] = [];
  protected valueType: TypeId = T_STR;
  protected value: FieldValue = '';
  protected scopeName = '';
  protected scopeVersion = '';

  constructor(out: B) {
    this.out = out;
  }

  protected enter(name: string | number): void {
    this.path.push(name);
  }

  protected leave(): void {
    this.path.pop();
  }

  protected pathText(field?: string): string {
    let s = '';
    for (const p of this.path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
    if (field !== undefined) s += s === '' ? field : `.${field}`;
    return s === '' ? '(root)' : s;
  }

  protected fail(message: string, field?: string): MoleError {
    return badJson(`${this.pathText(field)}: ${message}`);
  }

  protected object(v: Json, field?: string): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw this.fail(`expected an object, got ${kind(v)}`, field);
    return v as JsonObject;
  }

  /** A repeated field: absent or null is empty. */
  protected array(v: Json, field: string): readonly Json[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.fail(`expected an array, got ${kind(v)}`, field);
    return v;
  }

  protected string(v: Json, field: string): string {
    if (typeof v === 'string') return v;
    if (v === undefined || v === null) return '';
    throw this.fail(`expected a string, got ${kind(v)}`, field);
  }

  /** fixed64 / uint64. */
  protected u64(v: Json, field: string): bigint {
    if (typeof v === 'string') {
      if (UNSIGNED.test(v)) {
        const n = BigInt(v);
        if (n <= U64_MAX) return n;
      }
      throw this.fail(`expected an unsigned 64-bit integer as a decimal string, got "${clip(v)}"`, field);
    }
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
      throw this.numberProblem(v, 'an unsigned 64-bit integer', field);
    }
    if (v === undefined || v === null) return 0n;
    throw this.fail(`expected an unsigned 64-bit integer, got ${kind(v)}`, field);
  }

  /** int64 (AnyValue.int_value). */
  protected i64(v: Json, field: string): bigint {
    if (typeof v === 'string') {
      if (SIGNED.test(v)) {
        const n = BigInt(v);
        if (n >= I64_MIN && n <= I64_MAX) return n;
      }
      throw this.fail(`expected a 64-bit integer as a decimal string, got "${clip(v)}"`, field);
    }
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) return BigInt(v);
      throw this.numberProblem(v, 'a 64-bit integer', field);
    }
    throw this.fail(`expected a 64-bit integer, got ${kind(v)}`, field);
  }

  private numberProblem(v: number, what: string, field: string): MoleError {
    if (Number.isInteger(v)) {
      return this.fail(
        `${v} is beyond 2^53, where JSON numbers lose precision; send 64-bit integers as decimal strings, as OTLP/JSON requires`,
        field,
      );
    }
    return this.fail(`expected ${what}, got ${v}`, field);
  }

  /** uint32 / fixed32, as a number or a decimal string. */
  protected u32(v: Json, field: string): number {
    if (v === undefined || v === null) return 0;
    const n = typeof v === 'string' && UNSIGNED.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
    throw this.fail(`expected an unsigned 32-bit integer, got ${kind(v)}`, field);
  }

  /** An enum (int32): an integer, a decimal string, or one of `names`. */
  protected enumValue(v: Json, field: string, names: ReadonlyMap<string, number>): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return v;
    if (typeof v === 'string') {
      const named = names.get(v);
      if (named !== undefined) return named;
      if (SIGNED.test(v)) {
        const n = Number(v);
        if (n >= -0x80000000 && n <= 0x7fffffff) return n;
      }
    }
    throw this.fail(`expected an integer or one of ${[...names.keys()].join(', ')}, got ${kind(v)}`, field);
  }

  protected bool(v: Json, field: string): boolean {
    if (typeof v === 'boolean') return v;
    throw this.fail(`expected true or false, got ${kind(v)}`, field);
  }

  /** double: a number, or a string holding one or NaN / Infinity / -Infinity (proto3 JSON). */
  protected f64(v: Json, field: string): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (FLOAT.test(v)) return Number(v);
    }
    throw this.fail(`expected a number, got ${kind(v)}`, field);
  }

  protected bytes(v: Json, field: string): Uint8Array {
    if (typeof v !== 'string' || !BASE64.test(v) || v.replace(/=+$/, '').length % 4 === 1) {
      throw this.fail(`expected base64 bytes, got ${kind(v)}`, field);
    }
    return new Uint8Array(Buffer.from(v, 'base64'));
  }

  /**
   * A hex id as lowercase hex; '' when absent or all zero (and allowed to be). A string that is
   * not hex is malformed (400); hex of the wrong length or a missing required id rejects only the
   * record, exactly as in protobuf — then this returns null.
   */
  protected id(v: Json, field: string, bytes: number, required: boolean, prefix: string): string | null {
    const hex = this.string(v, field);
    if (hex.length % 2 !== 0 || !HEX.test(hex)) {
      throw this.fail(
        `expected ${bytes * 2} hex characters, got a ${hex.length}-character string that is not hex`,
        field,
      );
    }
    const zero = isZeroHex(hex);
    const length = hex.length / 2;
    if (length !== bytes || (zero && required)) {
      const problem = idProblem(`${this.recordPath()}.${prefix}${field}`, length, bytes, zero, required);
      if (problem !== '') {
        this.out.reject(problem);
        return null;
      }
    }
    return zero ? '' : hex.toLowerCase();
  }

  /** Where the record being decoded is, for rejection messages. */
  protected recordPath(): string {
    return this.pathText();
  }

  /** Decodes an AnyValue into valueType/value; false when it is empty. */
  protected anyValue(v: Json, field: string | undefined, depth: number): boolean {
    const o = this.object(v, field);
    if (field !== undefined) this.enter(field);
    let present = false;
    for (const k in o) {
      const x = o[k];
      if (x === undefined || x === null) continue;
      switch (k) {
        case 'stringValue':
        case 'string_value':
          this.value = this.string(x, k);
          this.valueType = T_STR;
          break;
        case 'boolValue':
        case 'bool_value':
          this.value = this.bool(x, k);
          this.valueType = T_BOOL;
          break;
        case 'intValue':
        case 'int_value':
          this.value = this.i64(x, k);
          this.valueType = T_INT;
          break;
        case 'doubleValue':
        case 'double_value':
          this.value = this.f64(x, k);
          this.valueType = T_FLOAT;
          break;
        case 'arrayValue':
        case 'array_value':
          this.value = this.listJson(x, k, depth + 1, false);
          this.valueType = T_JSON;
          break;
        case 'kvlistValue':
        case 'kvlist_value':
          this.value = this.listJson(x, k, depth + 1, true);
          this.valueType = T_JSON;
          break;
        case 'bytesValue':
        case 'bytes_value':
          this.value = this.bytes(x, k);
          this.valueType = T_BYTES;
          break;
        default:
          continue;
      }
      present = true;
    }
    if (field !== undefined) this.leave();
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
        return `"${Buffer.from(this.value as Uint8Array).toString('base64')}"`;
      case T_JSON:
        return this.value as string;
    }
  }

  /** ArrayValue / KeyValueList `{ values: [...] }` as JSON text. */
  private listJson(v: Json, field: string, depth: number, isKvlist: boolean): string {
    if (depth > MAX_ANY_VALUE_DEPTH)
      throw this.fail(`AnyValue nested more than ${MAX_ANY_VALUE_DEPTH} levels deep`, field);
    const o = this.object(v, field);
    this.enter(field);
    const items = this.array(o.values, 'values');
    this.enter('values');
    let out = '';
    const keys: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < items.length; i++) {
      if (isKvlist) {
        this.enter(i);
        this.keyValue(items[i], depth, keys, values, true);
        this.leave();
      } else {
        this.enter(i);
        const present = this.anyValue(items[i], undefined, depth);
        this.leave();
        out += (i === 0 ? '' : ',') + (present ? this.valueJson() : 'null');
      }
    }
    this.leave();
    this.leave();
    return isKvlist ? objectJson(keys, values) : `[${out}]`;
  }

  /** A KeyValue appended as JSON text; empty values kept as null only when `keepEmpty`. */
  protected keyValue(v: Json, depth: number, keys: string[], values: string[], keepEmpty: boolean): void {
    const kv = this.object(v);
    const key = this.string(kv.key, 'key');
    let present = false;
    if (kv.value !== undefined && kv.value !== null) present = this.anyValue(kv.value, 'value', depth);
    if (!present && !keepEmpty) return;
    keys.push(key);
    values.push(present ? this.valueJson() : 'null');
  }

  /** `attributes` (a KeyValue array) as a JSON object text, for span events and links. */
  protected attributesJson(v: Json, field: string): string {
    const list = this.array(v, field);
    const keys: string[] = [];
    const values: string[] = [];
    this.enter(field);
    for (let i = 0; i < list.length; i++) {
      this.enter(i);
      this.keyValue(list[i], 0, keys, values, false);
      this.leave();
    }
    this.leave();
    return objectJson(keys, values);
  }

  /** `attributes` written to the batch as attribute columns. */
  protected attributes(v: Json, field: string, level: Level): void {
    const list = this.array(v, field);
    this.enter(field);
    for (let i = 0; i < list.length; i++) {
      this.enter(i);
      const kv = this.object(list[i]);
      const key = this.string(kv.key, 'key');
      const value = kv.value;
      if (value !== undefined && value !== null && this.anyValue(value, 'value', 0)) {
        if (level === RECORD) this.out.recordAttr(key, this.valueType, this.value);
        else this.out.groupAttr(level, key, this.valueType, this.value);
      }
      this.leave();
    }
    this.leave();
  }

  protected resource(v: Json): void {
    const o = this.object(v, 'resource');
    this.enter('resource');
    for (const k in o) {
      if (k === 'attributes') this.attributes(o[k], k, RESOURCE);
      else if (k === 'droppedAttributesCount' || k === 'dropped_attributes_count') this.u32(o[k], k);
    }
    this.leave();
  }

  protected scope(v: Json): void {
    const o = this.object(v, 'scope');
    this.enter('scope');
    for (const k in o) {
      const x = o[k];
      switch (k) {
        case 'name':
          this.scopeName = this.string(x, k);
          break;
        case 'version':
          this.scopeVersion = this.string(x, k);
          break;
        case 'attributes':
          this.attributes(x, k, SCOPE);
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          this.u32(x, k);
          break;
      }
    }
    this.leave();
  }
}

/** What a JSON value is, for messages; never echoes more than a few characters of user text. */
function kind(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string "${clip(v)}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : 'nothing';
}

const clip = (s: string): string => (s.length > 24 ? `${s.slice(0, 24)}…` : s);
