/**
 * Limits on the log records of one request (Loki push, HEC, `_bulk`, JSON): line length and the
 * timestamp window. Checked by the handler on the decoded batch, before anything is written, and
 * a breach refuses the whole request (400), so nothing of it is stored half-way. Replay never
 * checks them again: a WAL record exists only for a request that passed, so a later config
 * change cannot make replay drop acknowledged rows.
 */
import { MoleError } from '../lib/errors.ts';
import type { ColumnBatch } from '../write/column-batch.ts';

export interface RecordLimits {
  maxLineBytes: number;
  /** 0 = no limit */
  maxFutureMs: number;
  /** 0 = no limit */
  maxAgeMs: number;
}

const NS_PER_MS = 1_000_000n;

const iso = (ns: bigint): string => {
  const ms = Number(ns / NS_PER_MS);
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : `${ns} ns`;
};

/** Throws a 400 naming the first record that breaks a limit. */
export function checkRecordLimits(
  batches: readonly ColumnBatch[],
  nowNs: bigint,
  limits: RecordLimits,
): void {
  const latest = limits.maxFutureMs > 0 ? nowNs + BigInt(limits.maxFutureMs) * NS_PER_MS : null;
  const earliest = limits.maxAgeMs > 0 ? nowNs - BigInt(limits.maxAgeMs) * NS_PER_MS : null;
  let index = 0;
  for (const batch of batches) {
    const ts = batch.fixed._timestamp as bigint[];
    const body = batch.fixed.body as (string | null)[];
    for (let i = 0; i < batch.rowCount; i++, index++) {
      const t = ts[i]!;
      if (latest !== null && t > latest) {
        throw new MoleError(
          `record ${index} has timestamp ${iso(t)}, more than ingest.maxFutureMs=${limits.maxFutureMs} ms after the receive time ${iso(nowNs)}; fix the sender's clock or timestamp unit. Nothing of this request was stored`,
          { code: 'MS_ERR_TOO_FAR_IN_FUTURE', status: 400, reason: 'too_far_in_future' },
        );
      }
      if (earliest !== null && t < earliest) {
        throw new MoleError(
          `record ${index} has timestamp ${iso(t)}, older than ingest.maxAgeMs=${limits.maxAgeMs} ms before the receive time ${iso(nowNs)}. Nothing of this request was stored`,
          { code: 'MS_ERR_TOO_OLD', status: 400, reason: 'too_old' },
        );
      }
      const line = body[i];
      // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only for lines that may be long.
      if (line && line.length * 3 > limits.maxLineBytes) {
        const bytes = Buffer.byteLength(line);
        if (bytes > limits.maxLineBytes) {
          throw new MoleError(
            `record ${index} has a ${bytes}-byte line, over ingest.maxLineBytes=${limits.maxLineBytes}; split or truncate it before sending. Nothing of this request was stored`,
            { code: 'MS_ERR_LINE_TOO_LONG', status: 400, reason: 'line_too_long' },
          );
        }
      }
    }
  }
}
