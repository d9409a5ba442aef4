/** A small protobuf writer for the few messages we build by hand (responses, test requests). */
export class ProtobufWriter {
  private bytes: number[] = [];

  varint(n: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(n));
    while (x > 0x7fn) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  /** field with a varint value */
  uint(field: number, n: number | bigint): this {
    return this.tag(field, 0).varint(n);
  }

  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }

  bytesField(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  message(field: number, inner: ProtobufWriter): this {
    return this.bytesField(field, inner.finish());
  }

  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  /** a fixed64 field (OTLP times in ns) */
  fixed64(field: number, v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.tag(field, 1);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  /** a fixed32 field (span and link flags) */
  fixed32(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.tag(field, 5);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  /** a double field with an exact bit pattern (e.g. Prometheus' StaleNaN 0x7ff0000000000002) */
  doubleBits(field: number, bits: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, bits, true);
    this.tag(field, 1);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}
