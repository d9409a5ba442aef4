/**
 * The `syslog` wire format: a batch body (batch-body.ts) → log rows. Listeners call it when a batch
 * is sealed, WAL replay calls it again: the result depends only on the body and the params.
 *
 * Mapping (docs/ingest.md "Syslog"):
 *   `_timestamp` ← TIMESTAMP (receive time when absent) · `observed_timestamp` ← receive time ·
 *   `body` ← MSG · `severity_number`/`severity_text` ← PRI severity (OTel Collector mapping) ·
 *   `resource.host.name` ← HOSTNAME · `resource.service.name` ← APP-NAME / TAG ·
 *   `attr.syslog.facility` (name) and `attr.syslog.facility_code` (int) ← PRI facility ·
 *   `attr.syslog.version` (int, RFC 5424 only) · `attr.syslog.procid` · `attr.syslog.msgid` ·
 *   `attr.syslog.sd.<SD-ID>.<PARAM>` (str; a repeated param joins its values with `,`) ·
 *   `attr.net.peer.ip` ← the sender's address.
 * A refused message (parse.ts) counts in `rejectedCount`; the other messages of the batch stay.
 */
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { LogBatchBuilder, RESOURCE, SCOPE, T_INT, T_STR } from '../otlp/batch-builder.ts';
import { forEachSyslogRecord } from './batch-body.ts';
import { FACILITIES, SEVERITY_NUMBERS, SEVERITY_TEXTS, newSyslogFields, parseSyslog } from './parse.ts';

/** params of a syslog payload */
export interface SyslogParams {
  /** the listener: `udp`, `tcp` or `tls` */
  transport: string;
  /** the server's UTC offset (minutes) when the batch was sealed: places RFC 3164 timestamps */
  utcOffsetMin: string;
}

const FACILITY_CODES = FACILITIES.map((_, i) => BigInt(i));

export function decodeSyslog(p: IngestPayload): ColumnBatch {
  const utcOffsetMin = Number(p.params?.utcOffsetMin ?? 0) || 0;
  const b = new LogBatchBuilder();
  const f = newSyslogFields();
  let lastMs = NaN;
  let lastNs = 0n;
  forEachSyslogRecord(p.body, (r) => {
    if (r.receivedAtMs !== lastMs) {
      lastMs = r.receivedAtMs;
      lastNs = BigInt(Math.round(r.receivedAtMs)) * 1_000_000n;
    }
    b.beginGroup(RESOURCE);
    b.beginGroup(SCOPE);
    b.beginRecord();
    const error = parseSyslog(p.body.subarray(r.msgStart, r.msgEnd), f, r.receivedAtMs, utcOffsetMin);
    if (error !== null) {
      b.reject(`syslog message refused: ${error}`);
    } else {
      if (f.hostname !== '') b.groupAttr(RESOURCE, 'host.name', T_STR, f.hostname);
      if (f.appName !== '') b.groupAttr(RESOURCE, 'service.name', T_STR, f.appName);
      if (f.pri >= 0) {
        const facility = f.pri >> 3;
        b.recordAttr('syslog.facility', T_STR, FACILITIES[facility]!);
        b.recordAttr('syslog.facility_code', T_INT, FACILITY_CODES[facility]!);
      }
      if (f.version > 0) b.recordAttr('syslog.version', T_INT, BigInt(f.version));
      if (f.procId !== '') b.recordAttr('syslog.procid', T_STR, f.procId);
      if (f.msgId !== '') b.recordAttr('syslog.msgid', T_STR, f.msgId);
      for (let i = 0; i < f.sd.length; i += 2) b.recordAttr(`syslog.sd.${f.sd[i]!}`, T_STR, f.sd[i + 1]!);
      if (r.peer !== '') b.recordAttr('net.peer.ip', T_STR, r.peer);
      const severity = f.pri & 7;
      b.emit(
        f.timeNs ?? lastNs,
        lastNs,
        lastNs,
        f.pri >= 0 ? SEVERITY_NUMBERS[severity]! : 0,
        f.pri >= 0 ? SEVERITY_TEXTS[severity]! : '',
        f.msg,
        null,
        null,
        0n,
        '',
        0,
      );
    }
    b.endScope('', '');
    b.endGroup(RESOURCE);
  });
  return b.finish();
}
