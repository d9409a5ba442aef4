/**
 * UTF-8 bytes → one shared JS string per distinct byte string. Label names and values repeat
 * across series (`__name__`, `job`, `region="us-east-1"`); decoding each occurrence allocates a
 * new string that the series registry then keeps, so new series cost garbage-collector time and
 * memory per label. Interned, equal labels share one string and a hit allocates nothing.
 *
 * Invariant: a string is only ever cached after `fatal` UTF-8 decoding succeeded, so a cache hit
 * is as valid as a fresh decode. Bounded: past `maxEntries` or `maxBytes` the cache starts over.
 */
import { ByteKeyMap } from './byte-key-map.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class StringInterner {
  private readonly ids = new ByteKeyMap();
  private strings: string[] = [];

  constructor(
    private readonly maxEntries = 200_000,
    private readonly maxBytes = 16 * 1024 * 1024,
    /** longer byte strings are decoded every time (unlikely to repeat, costly to hash and keep) */
    private readonly maxLength = 256,
  ) {}

  /** The string of bytes [start, end) of `buf`; throws TypeError if they are not valid UTF-8. */
  decode(buf: Uint8Array, start: number, end: number): string {
    if (end - start > this.maxLength) return utf8.decode(buf.subarray(start, end));
    const id = this.ids.get(buf, start, end);
    if (id !== 0) return this.strings[id - 1]!;
    const s = utf8.decode(buf.subarray(start, end));
    if (this.ids.size >= this.maxEntries || this.ids.keyBytes + (end - start) > this.maxBytes) {
      this.ids.clear();
      this.strings = [];
    }
    this.strings.push(s);
    this.ids.set(buf, start, end, this.strings.length);
    return s;
  }
}
