/**
 * The body of a `syslog` WAL payload: the framed messages of one batch, each with its receive time
 * and its sender's address, so that WAL replay rebuilds the same rows. Layout (little endian),
 * repeated until the end of the body (docs/format/syslog-body.md):
 *
 *   u32 message length N | f64 receive time (ms since the epoch) | u8 peer length P |
 *   P bytes peer address (ASCII) | N bytes message (as framed, without the framing)
 */

/** Bytes before the peer address of each record. */
const HEAD = 4 + 8 + 1;

/** Appends records into one growing buffer (no object per message). */
export class SyslogBodyWriter {
  private buf: Buffer;
  private used = 0;
  count = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get bytes(): number {
    return this.used;
  }

  add(msg: Uint8Array, receivedAtMs: number, peer: string): void {
    const peerLen = Math.min(peer.length, 255);
    const need = HEAD + peerLen + msg.length;
    if (this.used + need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + need));
      this.buf.copy(next, 0, 0, this.used);
      this.buf = next;
    }
    const o = this.used;
    this.buf.writeUInt32LE(msg.length, o);
    this.buf.writeDoubleLE(receivedAtMs, o + 4);
    this.buf[o + 12] = peerLen;
    this.buf.write(peer.slice(0, peerLen), o + HEAD, 'latin1');
    this.buf.set(msg, o + HEAD + peerLen);
    this.used += need;
    this.count++;
  }

  /** The records so far, copied out; the writer starts empty again. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.used));
    this.used = 0;
    this.count = 0;
    return out;
  }
}

/** One record's place in a body; `next` is the offset of the record after it. */
export interface SyslogRecordView {
  receivedAtMs: number;
  peer: string;
  msgStart: number;
  msgEnd: number;
}

/**
 * Calls `each` per record. A body that does not end on a record boundary is a programming error
 * (bodies are only written by SyslogBodyWriter): it throws.
 */
export function forEachSyslogRecord(body: Uint8Array, each: (r: SyslogRecordView) => void): void {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const view: SyslogRecordView = { receivedAtMs: 0, peer: '', msgStart: 0, msgEnd: 0 };
  let lastPeerStart = -1;
  let lastPeerLen = -1;
  let o = 0;
  while (o < body.length) {
    if (o + HEAD > body.length) throw new Error(`syslog body: truncated record header at ${o}`);
    const n = dv.getUint32(o, true);
    view.receivedAtMs = dv.getFloat64(o + 4, true);
    const p = body[o + 12]!;
    const peerStart = o + HEAD;
    if (peerStart + p + n > body.length) throw new Error(`syslog body: truncated record at ${o}`);
    if (p !== lastPeerLen || !sameBytes(body, peerStart, lastPeerStart, p)) {
      let s = '';
      for (let i = peerStart; i < peerStart + p; i++) s += String.fromCharCode(body[i]!);
      view.peer = s;
    }
    lastPeerStart = peerStart;
    lastPeerLen = p;
    view.msgStart = peerStart + p;
    view.msgEnd = view.msgStart + n;
    each(view);
    o = view.msgEnd;
  }
}

function sameBytes(buf: Uint8Array, a: number, b: number, n: number): boolean {
  if (b < 0) return false;
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}
