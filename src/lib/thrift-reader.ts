/**
 * Readers for the Thrift binary and compact protocols
 * (https://github.com/apache/thrift/blob/master/doc/specs/thrift-binary-protocol.md,
 * https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md), enough for
 * decoding structs field by field with skipping of unknown fields. Both expose the binary
 * protocol's type codes, so a struct decoder is written once for both.
 *
 * Invariants: every read is bounds-checked; nothing is allocated from a declared size before the
 * bytes are known to be there (a list of n elements needs at least n bytes); nesting is limited;
 * the only exception thrown is MoleError (400, MS_ERR_BAD_THRIFT) with the byte offset.
 */
import { badRequest, type MoleError } from './errors.ts';

export const T_STOP = 0;
export const T_BOOL = 2;
export const T_BYTE = 3;
export const T_DOUBLE = 4;
export const T_I16 = 6;
export const T_I32 = 8;
export const T_I64 = 10;
export const T_STRING = 11;
export const T_STRUCT = 12;
export const T_MAP = 13;
export const T_SET = 14;
export const T_LIST = 15;

const MAX_DEPTH = 64;

export const malformedThrift = (message: string): MoleError =>
  badRequest(`malformed Thrift: ${message}`, 'MS_ERR_BAD_THRIFT', 'bad_request');

export interface ThriftMessage {
  name: string;
  type: number;
  seqId: number;
}

export abstract class ThriftReader {
  pos = 0;
  protected readonly view: DataView;
  private readonly text: Buffer;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  protected need(n: number): number {
    const at = this.pos;
    if (n < 0 || this.buf.length - at < n) {
      throw malformedThrift(`needs ${n} bytes at offset ${at}, ${Math.max(0, this.buf.length - at)} left`);
    }
    this.pos = at + n;
    return at;
  }

  abstract messageBegin(): ThriftMessage;
  abstract structBegin(): void;
  abstract structEnd(): void;
  /** The next field's [type, id]; type T_STOP at the end of the struct. */
  abstract fieldBegin(): [number, number];
  abstract bool(): boolean;
  abstract byte(): number;
  abstract i16(): number;
  abstract i32(): number;
  abstract i64(): bigint;
  abstract double(): number;
  /** A binary/string value: [start, end) in `buf`. */
  abstract binary(): [number, number];
  /** [element type, size] */
  abstract listBegin(): [number, number];
  /** [key type, value type, size] */
  abstract mapBegin(): [number, number, number];

  string(): string {
    const [s, e] = this.binary();
    return this.text.toString('utf8', s, e);
  }

  /** A list's size, checked against the bytes left (every element takes at least one byte, bool lists too). */
  protected checkedSize(size: number, at: number): number {
    if (size < 0 || size > this.buf.length - this.pos) {
      throw malformedThrift(`collection of ${size} elements at offset ${at} is longer than the message`);
    }
    return size;
  }

  skip(type: number, depth = 0): void {
    if (depth > MAX_DEPTH)
      throw malformedThrift(`nested more than ${MAX_DEPTH} levels at offset ${this.pos}`);
    switch (type) {
      case T_BOOL:
        this.bool();
        return;
      case T_BYTE:
        this.byte();
        return;
      case T_I16:
        this.i16();
        return;
      case T_I32:
        this.i32();
        return;
      case T_I64:
        this.i64();
        return;
      case T_DOUBLE:
        this.double();
        return;
      case T_STRING:
        this.binary();
        return;
      case T_STRUCT: {
        this.structBegin();
        for (;;) {
          const [t] = this.fieldBegin();
          if (t === T_STOP) break;
          this.skip(t, depth + 1);
        }
        this.structEnd();
        return;
      }
      case T_LIST:
      case T_SET: {
        const [et, n] = this.listBegin();
        for (let i = 0; i < n; i++) this.skip(et, depth + 1);
        return;
      }
      case T_MAP: {
        const [kt, vt, n] = this.mapBegin();
        for (let i = 0; i < n; i++) {
          this.skip(kt, depth + 1);
          this.skip(vt, depth + 1);
        }
        return;
      }
      default:
        throw malformedThrift(`unknown field type ${type} at offset ${this.pos}`);
    }
  }
}

/** TBinaryProtocol: big-endian fixed-width integers, i32-length strings. */
export class ThriftBinaryReader extends ThriftReader {
  messageBegin(): ThriftMessage {
    const at = this.pos;
    const first = this.i32();
    if (first < 0) {
      if ((first & 0xffff0000) !== (0x80010000 | 0))
        throw malformedThrift(`bad message version at offset ${at}`);
      const name = this.string();
      return { name, type: first & 0xff, seqId: this.i32() };
    }
    this.pos = at;
    const name = this.string();
    const type = this.byte();
    return { name, type, seqId: this.i32() };
  }
  structBegin(): void {}
  structEnd(): void {}
  fieldBegin(): [number, number] {
    const type = this.byte();
    if (type === T_STOP) return [T_STOP, 0];
    return [type, this.i16()];
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  byte(): number {
    return this.buf[this.need(1)]!;
  }
  i16(): number {
    return this.view.getInt16(this.need(2));
  }
  i32(): number {
    return this.view.getInt32(this.need(4));
  }
  i64(): bigint {
    return this.view.getBigInt64(this.need(8));
  }
  double(): number {
    return this.view.getFloat64(this.need(8));
  }
  binary(): [number, number] {
    const n = this.i32();
    const s = this.need(n);
    return [s, s + n];
  }
  listBegin(): [number, number] {
    const at = this.pos;
    const et = this.byte();
    return [et, this.checkedSize(this.i32(), at)];
  }
  mapBegin(): [number, number, number] {
    const at = this.pos;
    const kt = this.byte();
    const vt = this.byte();
    return [kt, vt, this.checkedSize(this.i32(), at)];
  }
}

/** Compact type codes → binary type codes (index = compact code). */
const FROM_COMPACT = [
  T_STOP,
  T_BOOL,
  T_BOOL,
  T_BYTE,
  T_I16,
  T_I32,
  T_I64,
  T_DOUBLE,
  T_STRING,
  T_LIST,
  T_SET,
  T_MAP,
  T_STRUCT,
];

/** TCompactProtocol: zigzag varints, field-id deltas, bools folded into field headers. */
export class ThriftCompactReader extends ThriftReader {
  private lastField: number[] = [];
  private fieldId = 0;
  /** the value of a bool field, carried in its header */
  private pendingBool: boolean | null = null;

  private varint64(): bigint {
    const at = this.pos;
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.buf[this.need(1)]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
    throw malformedThrift(`varint at offset ${at} is longer than 10 bytes`);
  }

  private varint32(): number {
    const at = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.buf[this.need(1)]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    throw malformedThrift(`varint at offset ${at} is longer than 5 bytes`);
  }

  private type(code: number, at: number): number {
    const t = FROM_COMPACT[code];
    if (t === undefined) throw malformedThrift(`unknown compact type ${code} at offset ${at}`);
    return t;
  }

  messageBegin(): ThriftMessage {
    const at = this.pos;
    if (this.byte() !== 0x82) throw malformedThrift(`not a compact protocol message at offset ${at}`);
    const vt = this.byte();
    if ((vt & 0x1f) !== 1) throw malformedThrift(`compact protocol version ${vt & 0x1f} at offset ${at + 1}`);
    const seqId = this.varint32() | 0;
    return { name: this.string(), type: vt >> 5, seqId };
  }
  structBegin(): void {
    if (this.lastField.length > MAX_DEPTH)
      throw malformedThrift(`nested more than ${MAX_DEPTH} levels at offset ${this.pos}`);
    this.lastField.push(this.fieldId);
    this.fieldId = 0;
  }
  structEnd(): void {
    this.fieldId = this.lastField.pop() ?? 0;
  }
  fieldBegin(): [number, number] {
    const at = this.pos;
    const b = this.byte();
    if (b === 0) return [T_STOP, 0];
    const delta = b >> 4;
    const code = b & 0x0f;
    this.fieldId = delta !== 0 ? this.fieldId + delta : this.i16();
    if (code === 1 || code === 2) this.pendingBool = code === 1;
    return [this.type(code, at), this.fieldId];
  }
  bool(): boolean {
    if (this.pendingBool !== null) {
      const v = this.pendingBool;
      this.pendingBool = null;
      return v;
    }
    return this.byte() === 1;
  }
  byte(): number {
    return this.buf[this.need(1)]!;
  }
  i16(): number {
    const z = this.varint32();
    return (((z >>> 1) ^ -(z & 1)) << 16) >> 16;
  }
  i32(): number {
    const z = this.varint32();
    return (z >>> 1) ^ -(z & 1);
  }
  i64(): bigint {
    const z = this.varint64();
    return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n));
  }
  double(): number {
    return this.view.getFloat64(this.need(8), true);
  }
  binary(): [number, number] {
    const n = this.varint32();
    const s = this.need(n);
    return [s, s + n];
  }
  listBegin(): [number, number] {
    const at = this.pos;
    const b = this.byte();
    const small = b >> 4;
    const size = small === 15 ? this.varint32() : small;
    return [this.type(b & 0x0f, at), this.checkedSize(size, at)];
  }
  mapBegin(): [number, number, number] {
    const at = this.pos;
    const size = this.checkedSize(this.varint32(), at);
    if (size === 0) return [T_STOP, T_STOP, 0];
    const kv = this.byte();
    return [this.type(kv >> 4, at), this.type(kv & 0x0f, at), size];
  }
}
