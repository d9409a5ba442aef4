/**
 * A minimal protobuf wire-format reader over one Uint8Array
 * (https://protobuf.dev/programming-guides/encoding/).
 *
 * Invariants:
 * - Every read is bounds-checked against the `end` of the enclosing message or field, not only
 *   the end of the buffer, so a nested length can never escape its parent.
 * - Nothing is allocated in proportion to a declared length: lengths are checked against the
 *   bytes actually present before any slice is taken, and slices are `subarray` views.
 * - The only exception ever thrown is MoleError (400, MS_ERR_BAD_PROTOBUF) naming the problem
 *   and its byte offset.
 *
 * Callers drive the reader with explicit `end` offsets instead of child reader objects so that
 * decoding a nested message allocates nothing.
 */
import { badRequest, type MoleError } from './errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start group', 'end group', 'fixed32'];

export const malformedProtobuf = (message: string): MoleError =>
  badRequest(`malformed protobuf: ${message}`, 'MS_ERR_BAD_PROTOBUF', 'bad_protobuf');

export class ProtobufReader {
  readonly buf: Uint8Array;
  /** Offset of the next byte to read. */
  pos = 0;
  /** High 32 bits of the last varint read by `varint()`. */
  hi = 0;
  private readonly view: DataView;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Reads a varint of up to 10 bytes. Returns its low 32 bits as an unsigned number and leaves
   * the high 32 bits in `this.hi`, so no BigInt is made unless the caller wants one.
   */
  varint(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) throw this.truncatedVarint(pos, end);
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      this.hi = 0;
      return b;
    }
    const start = pos - 1;
    let lo = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= end) throw this.truncatedVarint(start, end);
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.hi = 0;
        return lo >>> 0;
      }
    }
    // Fifth byte: 4 bits complete the low word, 3 bits start the high word.
    if (pos >= end) throw this.truncatedVarint(start, end);
    b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (pos >= end) throw this.truncatedVarint(start, end);
        b = buf[pos++]!;
        if (shift === 31) {
          // Tenth byte: only its lowest bit fits in 64 bits.
          if (b >= 0x80) throw malformedProtobuf(`varint at offset ${start} is longer than 10 bytes`);
          if (b > 1) throw malformedProtobuf(`varint at offset ${start} overflows 64 bits`);
          hi |= b << 31;
          break;
        }
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.pos = pos;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  /** A varint read as a two's-complement int64 (proto `int64`). */
  int64(end: number): bigint {
    const lo = this.varint(end);
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** A varint read as proto `int32` / enum: the low 32 bits, signed. */
  int32(end: number): number {
    return this.varint(end) | 0;
  }

  /** A varint read as proto `uint32`: the low 32 bits, as protobuf implementations do. */
  uint32(end: number): number {
    return this.varint(end);
  }

  bool(end: number): boolean {
    return this.varint(end) !== 0 || this.hi !== 0;
  }

  fixed64(end: number): bigint {
    const pos = this.pos;
    if (end - pos < 8) throw this.truncatedFixed(pos, end, 8);
    this.pos = pos + 8;
    return this.view.getBigUint64(pos, true);
  }

  fixed32(end: number): number {
    const pos = this.pos;
    if (end - pos < 4) throw this.truncatedFixed(pos, end, 4);
    this.pos = pos + 4;
    return this.view.getUint32(pos, true);
  }

  double(end: number): number {
    const pos = this.pos;
    if (end - pos < 8) throw this.truncatedFixed(pos, end, 8);
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /**
   * Reads the length prefix of a length-delimited field and returns the offset where the field
   * ends; `this.pos` is left at its first byte. The length is checked against `end` first.
   */
  lengthDelimited(end: number): number {
    const at = this.pos;
    const len = this.varint(end);
    const hi = this.hi;
    const avail = end - this.pos;
    if (hi !== 0 || len > avail) {
      const declared = hi === 0 ? String(len) : String((BigInt(hi) << 32n) | BigInt(len));
      const where =
        end === this.buf.length
          ? `the ${this.buf.length}-byte message`
          : `its enclosing field (which ends at offset ${end} of the ${this.buf.length}-byte message)`;
      throw malformedProtobuf(`length ${declared} at offset ${at} runs past the end of ${where}`);
    }
    return this.pos + len;
  }

  /** Reads a field tag and checks its wire type and field number. Returns `field << 3 | wire`. */
  tag(end: number): number {
    const at = this.pos;
    const tag = this.varint(end);
    if (this.hi !== 0) throw malformedProtobuf(`tag at offset ${at} overflows 32 bits`);
    const wire = tag & 7;
    const field = tag >>> 3;
    if (wire === 3 || wire === 4) {
      throw malformedProtobuf(
        `wire type ${wire} (${WIRE_NAMES[wire]}) for field ${field} at offset ${at}: groups are not supported`,
      );
    }
    if (wire > 5) throw malformedProtobuf(`invalid wire type ${wire} for field ${field} at offset ${at}`);
    if (field === 0) throw malformedProtobuf(`field number 0 at offset ${at} is invalid`);
    return tag;
  }

  /** Skips the value of a field whose tag was just read. */
  skip(tag: number, end: number): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_I64:
        if (end - this.pos < 8) throw this.truncatedFixed(this.pos, end, 8);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lengthDelimited(end);
        return;
      case WIRE_I32:
        if (end - this.pos < 4) throw this.truncatedFixed(this.pos, end, 4);
        this.pos += 4;
        return;
      default:
        // tag() never returns another wire type.
        throw malformedProtobuf(`invalid wire type ${tag & 7} at offset ${this.pos}`);
    }
  }

  /**
   * For a known field that arrived with the wrong wire type: a sender bug we refuse rather than
   * guess at.
   */
  wrongWireType(tag: number, fieldName: string, expectedWire: number): MoleError {
    const wire = tag & 7;
    return malformedProtobuf(
      `field ${tag >>> 3} (${fieldName}) has wire type ${wire} (${WIRE_NAMES[wire]}), ` +
        `expected ${expectedWire} (${WIRE_NAMES[expectedWire]}); its value starts at offset ${this.pos}`,
    );
  }

  private truncatedVarint(at: number, end: number): MoleError {
    return malformedProtobuf(`truncated varint at offset ${at} (${this.scope(end)})`);
  }

  private truncatedFixed(at: number, end: number, size: number): MoleError {
    return malformedProtobuf(
      `truncated fixed${size * 8} at offset ${at}: needs ${size} bytes, ${Math.max(0, end - at)} left (${this.scope(end)})`,
    );
  }

  private scope(end: number): string {
    return end === this.buf.length
      ? `message is ${this.buf.length} bytes`
      : `enclosing field ends at offset ${end} of ${this.buf.length} bytes`;
  }
}
