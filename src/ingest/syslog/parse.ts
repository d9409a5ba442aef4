/**
 * Syslog message parser, written by hand: strict RFC 5424, lenient RFC 3164, and the variants real
 * senders produce. Pure: bytes in, fields out; no framing (framing.ts), no storage.
 *
 * - RFC 5424 (https://www.rfc-editor.org/rfc/rfc5424#section-6): a message whose PRI is followed
 *   by a VERSION and a space is parsed strictly (field lengths, PRINTUSASCII, TIMESTAMP with a
 *   1–9 digit fraction and `Z` or `±hh:mm`, SD-ELEMENTs with `\"`, `\\`, `\]` escapes, an optional
 *   BOM before MSG). A violation refuses that message alone.
 *   Tolerated variants: rsyslog's RSYSLOG_SyslogProtocol23Format ends MSG with `\n` (trailing CR,
 *   LF and NUL are dropped from MSG); a 3164 message forwarded by rsyslog as 5424 carries two
 *   spaces before MSG (one leading space of MSG is dropped).
 * - RFC 3164 (https://www.rfc-editor.org/rfc/rfc3164#section-4.1): `<PRI>Mmm dd hh:mm:ss host
 *   tag[pid]: msg`, every part after PRI optional; an RFC 3339 timestamp is accepted in place of
 *   `Mmm dd hh:mm:ss`. The year and the zone come from the receive time: the zone is the server's
 *   UTC offset at receive time (passed in, so WAL replay gives the same result), the year is the
 *   one of {previous, current, next} that puts the timestamp closest to the receive time.
 *   A message without PRI keeps all its text as MSG and gets no severity and no facility.
 *
 * Never throws: `parseSyslog` returns an error message for a refused message, null otherwise.
 * MSG and SD-PARAM values are UTF-8; invalid bytes become U+FFFD (the message is kept).
 */

/** The fields of one message; one instance is reused for every message of a batch. */
export interface SyslogFields {
  /** PRI (0–191), -1 when the message has none */
  pri: number;
  /** 1 for RFC 5424, 0 for RFC 3164 */
  version: number;
  /** ns since the epoch; null when the message has no timestamp */
  timeNs: bigint | null;
  /** '' when absent or NILVALUE */
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** structured data, flat: [`<SD-ID>.<PARAM-NAME>`, value, …] in order of appearance */
  sd: string[];
  /** null when the message has no MSG */
  msg: string | null;
}

export const newSyslogFields = (): SyslogFields => ({
  pri: -1,
  version: 0,
  timeNs: null,
  hostname: '',
  appName: '',
  procId: '',
  msgId: '',
  sd: [],
  msg: null,
});

const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;
const DASH = 0x2d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const EQUALS = 0x3d;
const COLON = 0x3a;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const NS_PER_MS = 1_000_000n;
/** int64 nanoseconds span 1677-09-21 … 2262-04-11; keep to whole years inside it. */
const MIN_YEAR = 1678;
const MAX_YEAR = 2261;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
/** PRINTUSASCII (%d33-126) */
const isPrint = (b: number) => b >= 33 && b <= 126;

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** `n` digits at `pos` as a number, -1 when any is not a digit. */
function digits(buf: Uint8Array, pos: number, n: number): number {
  let v = 0;
  for (let i = pos; i < pos + n; i++) {
    const b = buf[i];
    if (!isDigit(b)) return -1;
    v = v * 10 + (b! - 0x30);
  }
  return v;
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
function daysIn(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Parse state: position, and the error when one was found. */
interface Cursor {
  pos: number;
  error: string | null;
}

/**
 * TIMESTAMP of RFC 5424 (`FULL-DATE "T" FULL-TIME`) at `c.pos`. Returns ns or null (error set).
 * Fractions of 1–9 digits are accepted (RFC 5424 allows 6; some senders send nanoseconds).
 */
function rfc3339(buf: Uint8Array, c: Cursor): bigint | null {
  const p = c.pos;
  const y = digits(buf, p, 4);
  const mo = digits(buf, p + 5, 2);
  const d = digits(buf, p + 8, 2);
  const h = digits(buf, p + 11, 2);
  const mi = digits(buf, p + 14, 2);
  const s = digits(buf, p + 17, 2);
  const t = buf[p + 10];
  if (
    y < 0 ||
    buf[p + 4] !== DASH ||
    mo < 1 ||
    mo > 12 ||
    buf[p + 7] !== DASH ||
    d < 1 ||
    (t !== 0x54 && t !== 0x74) ||
    h < 0 ||
    h > 23 ||
    buf[p + 13] !== COLON ||
    mi < 0 ||
    mi > 59 ||
    buf[p + 16] !== COLON ||
    s < 0 ||
    s > 59 ||
    d > daysIn(y, mo)
  ) {
    c.error = 'TIMESTAMP is not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm))';
    return null;
  }
  let q = p + 19;
  let fracNs = 0;
  if (buf[q] === 0x2e) {
    let n = 0;
    q++;
    while (isDigit(buf[q]) && n < 10) {
      fracNs = fracNs * 10 + (buf[q]! - 0x30);
      q++;
      n++;
    }
    if (n === 0 || n > 9) {
      c.error = 'TIMESTAMP fraction must have 1 to 9 digits';
      return null;
    }
    fracNs *= 10 ** (9 - n);
  }
  let offsetMin = 0;
  const z = buf[q];
  if (z === 0x5a || z === 0x7a) q++;
  else if (z === 0x2b || z === DASH) {
    const oh = digits(buf, q + 1, 2);
    const om = digits(buf, q + 4, 2);
    if (oh < 0 || oh > 23 || buf[q + 3] !== COLON || om < 0 || om > 59) {
      c.error = 'TIMESTAMP offset must be Z or ±hh:mm';
      return null;
    }
    offsetMin = (z === DASH ? -1 : 1) * (oh * 60 + om);
    q += 6;
  } else {
    c.error = 'TIMESTAMP needs a time zone (Z or ±hh:mm)';
    return null;
  }
  if (y < MIN_YEAR || y > MAX_YEAR) {
    c.error = `TIMESTAMP year ${y} is out of range (${MIN_YEAR}–${MAX_YEAR})`;
    return null;
  }
  c.pos = q;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - offsetMin * 60_000;
  return BigInt(ms) * NS_PER_MS + BigInt(fracNs);
}

/** `<PRI>` at 0: returns PRI and sets `c.pos` after `>`, or -1 when there is none. */
function pri(buf: Uint8Array, c: Cursor): number {
  if (buf[0] !== LT) return -1;
  let v = 0;
  let i = 1;
  while (i < 4 && isDigit(buf[i])) v = v * 10 + (buf[i++]! - 0x30);
  if (i === 1 || buf[i] !== GT || v > 191) return -1;
  c.pos = i + 1;
  return v;
}

/** A header field of RFC 5424: 1–`max` PRINTUSASCII then SP; '' for NILVALUE. */
function headerField(buf: Uint8Array, c: Cursor, name: string, max: number): string {
  const start = c.pos;
  let i = start;
  while (i < buf.length && buf[i] !== SP) {
    if (!isPrint(buf[i]!)) {
      c.error = `${name} has a byte outside printable US-ASCII`;
      return '';
    }
    i++;
  }
  if (i === start) {
    c.error = `${name} is empty (use - for none)`;
    return '';
  }
  if (i - start > max) {
    c.error = `${name} is longer than ${max} characters`;
    return '';
  }
  if (buf[i] !== SP) {
    c.error = `message ends after ${name}`;
    return '';
  }
  c.pos = i + 1;
  return i - start === 1 && buf[start] === DASH ? '' : latin1(buf, start, i);
}

/** SD-NAME: 1–32 PRINTUSASCII except '=', SP, ']', '"'. */
function sdName(buf: Uint8Array, c: Cursor, what: string): string {
  const start = c.pos;
  let i = start;
  while (i < buf.length) {
    const b = buf[i]!;
    if (!isPrint(b) || b === EQUALS || b === RBRACKET || b === QUOTE) break;
    i++;
  }
  if (i === start || i - start > 32) {
    c.error = `${what} must be 1 to 32 printable characters without = ] " or space`;
    return '';
  }
  c.pos = i;
  return latin1(buf, start, i);
}

/** PARAM-VALUE after its opening quote: unescapes `\"`, `\\`, `\]`; other backslashes stay. */
function paramValue(buf: Uint8Array, c: Cursor): string {
  const start = c.pos;
  let i = start;
  let escapes = 0;
  while (i < buf.length && buf[i] !== QUOTE) {
    if (buf[i] === BACKSLASH && i + 1 < buf.length) {
      const n = buf[i + 1];
      if (n === QUOTE || n === BACKSLASH || n === RBRACKET) {
        escapes++;
        i++;
      }
    }
    i++;
  }
  if (i >= buf.length) {
    c.error = 'SD-PARAM value has no closing quote';
    return '';
  }
  c.pos = i + 1;
  if (escapes === 0) return utf8.decode(buf.subarray(start, i));
  const out = new Uint8Array(i - start - escapes);
  let o = 0;
  for (let j = start; j < i; j++) {
    const b = buf[j]!;
    if (b === BACKSLASH) {
      const n = buf[j + 1];
      if (n === QUOTE || n === BACKSLASH || n === RBRACKET) {
        out[o++] = n;
        j++;
        continue;
      }
    }
    out[o++] = b;
  }
  return utf8.decode(out);
}

/** Adds a structured-data value; a repeated `<SD-ID>.<PARAM>` joins its values with a comma. */
function addSd(sd: string[], key: string, value: string): void {
  for (let k = 0; k < sd.length; k += 2) {
    if (sd[k] === key) {
      sd[k + 1] = `${sd[k + 1]!},${value}`;
      return;
    }
  }
  sd.push(key, value);
}

/** STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT */
function structuredData(buf: Uint8Array, c: Cursor, sd: string[]): void {
  if (buf[c.pos] === DASH) {
    c.pos++;
    return;
  }
  if (buf[c.pos] !== LBRACKET) {
    c.error = 'STRUCTURED-DATA must be - or start with [';
    return;
  }
  while (buf[c.pos] === LBRACKET) {
    c.pos++;
    const id = sdName(buf, c, 'SD-ID');
    if (c.error) return;
    while (buf[c.pos] === SP) {
      c.pos++;
      const name = sdName(buf, c, 'PARAM-NAME');
      if (c.error) return;
      if (buf[c.pos] !== EQUALS || buf[c.pos + 1] !== QUOTE) {
        c.error = `SD-PARAM ${name} must be written ${name}="value"`;
        return;
      }
      c.pos += 2;
      const value = paramValue(buf, c);
      if (c.error) return;
      addSd(sd, `${id}.${name}`, value);
    }
    if (buf[c.pos] !== RBRACKET) {
      c.error = `SD-ELEMENT ${id} is not closed by ]`;
      return;
    }
    c.pos++;
  }
}

/** MSG from `start`: without a UTF-8 BOM, trailing CR/LF/NUL, and (rsyslog) one leading space. */
function message(buf: Uint8Array, start: number, dropLeadingSpace: boolean): string | null {
  let s = start;
  let e = buf.length;
  if (buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
  else if (dropLeadingSpace && buf[s] === SP) s++;
  while (e > s && (buf[e - 1] === 0x0a || buf[e - 1] === 0x0d || buf[e - 1] === 0)) e--;
  return e > s ? utf8.decode(buf.subarray(s, e)) : null;
}

function reset(out: SyslogFields): void {
  out.pri = -1;
  out.version = 0;
  out.timeNs = null;
  out.hostname = '';
  out.appName = '';
  out.procId = '';
  out.msgId = '';
  out.sd.length = 0;
  out.msg = null;
}

/** RFC 5424 after `<PRI>`; `c.pos` is at VERSION. */
function parse5424(buf: Uint8Array, c: Cursor, out: SyslogFields): void {
  if (buf[c.pos] !== 0x31 || buf[c.pos + 1] !== SP) {
    c.error = 'unsupported syslog VERSION (only 1 exists)';
    return;
  }
  out.version = 1;
  c.pos += 2;
  if (buf[c.pos] === DASH && buf[c.pos + 1] === SP) c.pos++;
  else {
    out.timeNs = rfc3339(buf, c);
    if (c.error) return;
    if (buf[c.pos] !== SP) {
      c.error = 'TIMESTAMP must be followed by a space';
      return;
    }
  }
  c.pos++;
  out.hostname = headerField(buf, c, 'HOSTNAME', 255);
  if (!c.error) out.appName = headerField(buf, c, 'APP-NAME', 48);
  if (!c.error) out.procId = headerField(buf, c, 'PROCID', 128);
  if (!c.error) out.msgId = headerField(buf, c, 'MSGID', 32);
  if (c.error) return;
  structuredData(buf, c, out.sd);
  if (c.error) return;
  if (c.pos < buf.length && buf[c.pos] !== SP) {
    // rsyslog's template may end the header with `\n` when there is no MSG
    if (message(buf, c.pos, false) === null) return;
    c.error = 'STRUCTURED-DATA must be followed by a space and MSG';
    return;
  }
  out.msg = c.pos < buf.length ? message(buf, c.pos + 1, true) : null;
}

/** `Mmm dd hh:mm:ss` (dd may be space-padded) at `p`; ms or -1. */
function bsdTimestamp(buf: Uint8Array, p: number, receivedAtMs: number, utcOffsetMin: number): number {
  const mon = MONTHS.indexOf(latin1(buf, p, p + 3));
  if (mon < 0 || buf[p + 3] !== SP) return -1;
  const d = buf[p + 4] === SP ? digits(buf, p + 5, 1) : digits(buf, p + 4, 2);
  const h = digits(buf, p + 7, 2);
  const mi = digits(buf, p + 10, 2);
  const s = digits(buf, p + 13, 2);
  if (buf[p + 6] !== SP || buf[p + 9] !== COLON || buf[p + 12] !== COLON) return -1;
  if (d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return -1;
  const offsetMs = utcOffsetMin * 60_000;
  const year = new Date(receivedAtMs + offsetMs).getUTCFullYear();
  let best = -1;
  for (const y of [year - 1, year, year + 1]) {
    if (d > daysIn(y, mon + 1)) continue;
    const ms = Date.UTC(y, mon, d, h, mi, s) - offsetMs;
    if (best < 0 || Math.abs(ms - receivedAtMs) < Math.abs(best - receivedAtMs)) best = ms;
  }
  return best;
}

/** A 3164 TAG at `p`: `name[pid]:` or `name:`, then optional SP. Returns the MSG start or -1. */
function tag(buf: Uint8Array, p: number, out: SyslogFields): number {
  let i = p;
  while (i < buf.length && i - p <= 48) {
    const b = buf[i]!;
    if (b === LBRACKET || b === COLON || !isPrint(b) || b === RBRACKET) break;
    i++;
  }
  if (i === p || i - p > 48) return -1;
  const nameEnd = i;
  let pidStart = -1;
  let pidEnd = -1;
  if (buf[i] === LBRACKET) {
    pidStart = i + 1;
    let j = pidStart;
    while (j < buf.length && buf[j] !== RBRACKET && isPrint(buf[j]!) && j - pidStart <= 128) j++;
    if (buf[j] !== RBRACKET || j === pidStart) return -1;
    pidEnd = j;
    i = j + 1;
  }
  if (buf[i] !== COLON) return -1;
  out.appName = latin1(buf, p, nameEnd);
  if (pidStart >= 0) out.procId = latin1(buf, pidStart, pidEnd);
  i++;
  return buf[i] === SP ? i + 1 : i;
}

/** RFC 3164 after `<PRI>` (or from 0 when there is no PRI). */
function parse3164(
  buf: Uint8Array,
  c: Cursor,
  out: SyslogFields,
  receivedAtMs: number,
  utcOffsetMin: number,
): void {
  let p = c.pos;
  let hasTimestamp = false;
  if (out.pri >= 0) {
    const ms = bsdTimestamp(buf, p, receivedAtMs, utcOffsetMin);
    if (ms >= 0 && (buf[p + 15] === SP || p + 15 === buf.length)) {
      out.timeNs = BigInt(ms) * NS_PER_MS;
      hasTimestamp = true;
      p += 16;
    } else if (digits(buf, p, 4) >= 0 && buf[p + 4] === DASH) {
      const tc: Cursor = { pos: p, error: null };
      const ns = rfc3339(buf, tc);
      if (ns !== null && (buf[tc.pos] === SP || tc.pos === buf.length)) {
        out.timeNs = ns;
        hasTimestamp = true;
        p = tc.pos + 1;
      }
    }
  }
  if (hasTimestamp && p < buf.length) {
    // HOSTNAME, unless the first word is already the TAG (`host` is absent on local messages)
    let e = p;
    while (e < buf.length && buf[e] !== SP) e++;
    const last = buf[e - 1];
    const isTag = last === COLON && tag(buf, p, newSyslogFields()) >= 0;
    if (!isTag && buf[e] === SP && e > p) {
      out.hostname = latin1(buf, p, e);
      p = e + 1;
    }
  }
  const msgStart = p < buf.length ? tag(buf, p, out) : -1;
  out.msg = message(buf, msgStart >= 0 ? msgStart : p, false);
}

/**
 * Parses one syslog message (without framing) into `out`. `receivedAtMs` and `utcOffsetMin` only
 * place RFC 3164 timestamps (which carry neither year nor zone). Returns null, or why the message
 * was refused.
 */
export function parseSyslog(
  buf: Uint8Array,
  out: SyslogFields,
  receivedAtMs: number,
  utcOffsetMin: number,
): string | null {
  reset(out);
  const c: Cursor = { pos: 0, error: null };
  out.pri = pri(buf, c);
  if (out.pri >= 0 && isDigit(buf[c.pos]) && buf[c.pos + 1] === SP) parse5424(buf, c, out);
  else parse3164(buf, c, out, receivedAtMs, utcOffsetMin);
  if (c.error === null && out.msg === null && out.pri < 0) c.error = 'empty message';
  return c.error;
}

export const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

/** Syslog severity → OTel SeverityNumber, as the OpenTelemetry Collector's syslog parser maps it. */
export const SEVERITY_NUMBERS = [21, 19, 18, 17, 13, 10, 9, 5] as const;
export const SEVERITY_TEXTS = [
  'emerg',
  'alert',
  'crit',
  'err',
  'warning',
  'notice',
  'info',
  'debug',
] as const;
