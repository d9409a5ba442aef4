/**
 * Syslog over a byte stream (TCP, TLS): RFC 6587 framing, detected per message
 * (https://www.rfc-editor.org/rfc/rfc6587#section-3.4):
 * - a frame that starts with a digit is octet-counted: `MSG-LEN SP MSG`, MSG-LEN a decimal without
 *   leading zero, at most `maxMessageBytes`. Anything else there (a non-digit before the space, a
 *   count over the limit) is a bad frame: the connection cannot be resynchronised, so `push`
 *   reports it and the caller closes the connection; the frames before it are already delivered.
 * - any other frame is non-transparent: the message runs to the next LF (a CR before it is
 *   dropped). A line longer than `maxMessageBytes` is skipped up to its LF and counted.
 * Empty lines, and NUL / CR / LF bytes between frames, are skipped.
 *
 * Invariant: a message is delivered once its last byte arrived, never before; `end` reports what
 * was left unframed (an incomplete octet-counted frame is lost, counted; an unterminated last line
 * at a clean end of stream is a message, as rsyslog's imtcp treats it).
 */

export type FrameDrop = 'oversize' | 'truncated';

export interface FrameSink {
  message(msg: Uint8Array): void;
  drop(reason: FrameDrop, bytes: number): void;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
/** enough digits for any count we accept, plus one to see that it is too long */
const MAX_COUNT_DIGITS = 10;

export class SyslogFramer {
  /** Bytes of an incomplete frame kept from earlier chunks. */
  private pending: Buffer = Buffer.alloc(0);
  /** Skipping an over-long non-transparent line until its LF. */
  private skipping = false;
  private skipped = 0;
  /** Set by a bad octet-counted frame; the stream is not read further. */
  badFrame: string | null = null;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly sink: FrameSink,
  ) {}

  /** Frames what `chunk` completes. Returns false after a bad frame (see `badFrame`). */
  push(chunk: Buffer): boolean {
    if (this.badFrame !== null) return false;
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let o = 0;
    const n = buf.length;
    while (o < n) {
      if (this.skipping) {
        const lf = buf.indexOf(LF, o);
        if (lf < 0) {
          this.skipped += n - o;
          o = n;
          break;
        }
        this.skipped += lf - o;
        this.sink.drop('oversize', this.skipped);
        this.skipping = false;
        this.skipped = 0;
        o = lf + 1;
        continue;
      }
      const first = buf[o]!;
      if (first === LF || first === CR || first === 0) {
        o++;
        continue;
      }
      if (first >= 0x30 && first <= 0x39) {
        const next = this.octetCounted(buf, o);
        if (next < 0) break; // incomplete
        if (this.badFrame !== null) return false;
        o = next;
        continue;
      }
      const lf = buf.indexOf(LF, o);
      if (lf < 0) {
        if (n - o > this.maxMessageBytes) {
          this.skipping = true;
          this.skipped = n - o;
          o = n;
        }
        break;
      }
      const end = buf[lf - 1] === CR ? lf - 1 : lf;
      if (end - o > this.maxMessageBytes) this.sink.drop('oversize', end - o);
      else this.sink.message(buf.subarray(o, end));
      o = lf + 1;
    }
    this.pending = o < n ? Buffer.from(buf.subarray(o)) : Buffer.alloc(0);
    return true;
  }

  /** One octet-counted frame at `o`: the offset after it, or -1 when incomplete. */
  private octetCounted(buf: Buffer, o: number): number {
    let len = 0;
    let i = o;
    while (i < buf.length && i - o < MAX_COUNT_DIGITS) {
      const b = buf[i]!;
      if (b < 0x30 || b > 0x39) break;
      len = len * 10 + (b - 0x30);
      i++;
    }
    if (i === buf.length) return -1;
    if (buf[i] !== SP || buf[o] === 0x30) {
      this.badFrame = `octet count is not a number: a frame must start with MSG-LEN (1-${MAX_COUNT_DIGITS - 1} digits, no leading zero) and a space`;
      return 0;
    }
    if (len > this.maxMessageBytes) {
      this.badFrame = `octet-counted frame of ${len} bytes is over syslog.maxMessageBytes=${this.maxMessageBytes}`;
      return 0;
    }
    const start = i + 1;
    if (start + len > buf.length) return -1;
    this.sink.message(buf.subarray(start, start + len));
    return start + len;
  }

  /**
   * The stream ended. `clean`: the peer closed its side normally (FIN); an unterminated last line
   * is then a message. Whatever else is left is dropped and counted as `truncated`.
   */
  end(clean: boolean): void {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    if (this.badFrame !== null || rest.length === 0) return;
    if (this.skipping) {
      this.sink.drop('oversize', this.skipped);
      return;
    }
    const first = rest[0]!;
    const isCounted = first >= 0x30 && first <= 0x39;
    if (clean && !isCounted) {
      const end = rest[rest.length - 1] === CR ? rest.length - 1 : rest.length;
      if (end > 0) this.sink.message(rest.subarray(0, end));
      return;
    }
    this.sink.drop('truncated', rest.length);
  }
}
