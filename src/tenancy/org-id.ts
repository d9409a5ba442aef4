/**
 * OrgId is the org's immutable internal id (never its user-chosen name). It is a branded type so an
 * unchecked string cannot reach catalog, storage or query functions (STYLE.md "The org comes first").
 */
import { randomBytes } from 'node:crypto';

export type OrgId = string & { readonly __brand: 'OrgId' };

const ORG_ID_RE = /^o[0-9a-f]{16}$/;

export const newOrgId = (): OrgId => ('o' + randomBytes(8).toString('hex')) as OrgId;

/** Only for ids read back from our own catalog or WAL. */
export function asOrgId(id: string): OrgId {
  if (!ORG_ID_RE.test(id)) throw new Error(`not an org id: ${JSON.stringify(id)}`);
  return id as OrgId;
}

/** Org and stream names are slugs; names that collide with API path segments are reserved. */
export const SLUG_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const RESERVED_ORG_NAMES = new Set([
  'v1',
  'v2',
  'v3',
  'search',
  'traces',
  'echo',
  'status',
  'prometheus',
  'loki',
  'jaeger',
  'zipkin',
  'otlp',
  'api',
  'admin',
  'metrics',
  'logs',
  'ui',
  'web',
  'healthz',
  'readyz',
  'ready',
  'health',
  'query',
  'write',
  'push',
  'tempo',
  'services',
  'collector',
  'influx',
  'elasticsearch',
  'bulk',
  'internal',
]);
