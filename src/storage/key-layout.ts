/**
 * Deterministic object keys (PRODUCT.md "Storage"):
 * `{org_id}/{stream_type}/{stream}/YYYY/MM/DD/HH/{time-ordered id}.parquet`, built from the org's
 * internal id so no user-supplied string can steer a path.
 */
import { randomBytes } from 'node:crypto';
import type { OrgId } from '../tenancy/org-id.ts';
import type { StreamType } from '../catalog/catalog.ts';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A lexically time-ordered id: 13 hex digits of ms since the epoch + 8 random hex digits. */
export const timeOrderedId = (nowMs = Date.now()): string =>
  nowMs.toString(16).padStart(13, '0') + randomBytes(4).toString('hex');

export const HOUR_NS = 3_600_000_000_000n;

export function parquetKey(
  org: OrgId,
  type: StreamType,
  stream: string,
  hourStartNs: bigint,
  id: string,
): string {
  const d = new Date(Number(hourStartNs / 1_000_000n));
  return [
    org,
    type,
    stream,
    pad(d.getUTCFullYear(), 4),
    pad(d.getUTCMonth() + 1),
    pad(d.getUTCDate()),
    pad(d.getUTCHours()),
    `${id}.parquet`,
  ].join('/');
}

export const orgPrefix = (org: OrgId): string => org;
