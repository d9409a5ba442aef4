/**
 * The field readers the hand-written Zipkin and Jaeger protobuf decoders share: a length-delimited
 * field as a slice, as UTF-8 text (invalid sequences become U+FFFD), or as an id of fixed byte
 * lengths in lowercase hex. Malformed input throws MS_ERR_BAD_PROTOBUF (400).
 */
import { malformedProtobuf, ProtobufReader } from '../lib/protobuf-reader.ts';

export class ProtoFieldDecoder {
  protected readonly r: ProtobufReader;
  private readonly text: Buffer;

  constructor(body: Uint8Array) {
    this.r = new ProtobufReader(body);
    this.text = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /** The field whose tag was just read: [start, end) of its bytes. */
  protected slice(end: number): [number, number] {
    const e = this.r.lengthDelimited(end);
    const start = this.r.pos;
    this.r.pos = e;
    return [start, e];
  }

  protected string(end: number): string {
    const [s, e] = this.slice(end);
    return this.text.toString('utf8', s, e);
  }

  /** An id field as hex, after checking its byte length against `lengths`. */
  protected id(end: number, lengths: readonly number[], field: string): string {
    const [s, e] = this.slice(end);
    if (!lengths.includes(e - s)) {
      throw malformedProtobuf(`${field} is ${e - s} bytes at offset ${s}, expected ${lengths.join(' or ')}`);
    }
    return this.text.toString('hex', s, e);
  }
}
