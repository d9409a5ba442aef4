/**
 * The catalog: orgs, users, keys, streams, schemas and the file list. One interface, two backends
 * (SQLite embedded now; PostgreSQL for clusters later) with the same schema and migrations
 * (DESIGN.md decision 4). Every org-scoped call takes the OrgId first.
 *
 * Invariant: a Parquet file is visible to queries only once its row is committed here, and that
 * commit also moves the stream's flushed WAL position (so replay never applies its rows twice).
 */
import type { OrgId } from '../tenancy/org-id.ts';

export type StreamType = 'logs' | 'traces' | 'metrics';
export type Role = 'admin' | 'editor' | 'viewer';
/** `metrics`: may read /metrics when `auth.protectMetrics` is on (and nothing else) */
export type Scope = 'ingest' | 'query' | 'admin' | 'metrics';

export interface OrgRow {
  id: OrgId;
  name: string;
  createdAtMs: number;
}
export interface UserRow {
  id: string;
  name: string;
  passwordHash: string;
  isRoot: boolean;
  createdAtMs: number;
}
export interface MemberRow {
  userId: string;
  userName: string;
  org: OrgId;
  role: Role;
}
export interface ApiKeyRow {
  id: string;
  org: OrgId;
  name: string;
  keyHash: string;
  scopes: Scope[];
  createdAtMs: number;
  revokedAtMs: number | null;
}
export interface StreamSettings {
  retentionDays: number;
  maxFields: number;
}
export interface StreamRow {
  org: OrgId;
  type: StreamType;
  name: string;
  settings: StreamSettings;
  flushedSeq: number;
  createdAtMs: number;
}
/** Where a field of the stream lives: its own column or the `_attributes` JSON column. */
export interface StreamFieldRow {
  column: string;
  key: string;
  valueType: string;
  sqlType: string;
  placement: 'column' | 'overflow';
  position: number;
}
export interface FileRow {
  id: string;
  org: OrgId;
  type: StreamType;
  stream: string;
  key: string;
  minTs: bigint;
  maxTs: bigint;
  rows: number;
  bytes: number;
  /** column → [min, max] as strings, for the planner */
  columnStats: Record<string, [string | null, string | null]>;
  createdAtMs: number;
  /**
   * Logs: the shapes of the JSON lines the file stores as columns (storage/json-columns.ts);
   * absent when it stores every body. Kept in the `column_stats` text under `$json_shapes`.
   */
  jsonShapes?: string[];
}
export interface StreamStats {
  type: StreamType;
  name: string;
  files: number;
  rows: number;
  bytes: number;
  minTs: bigint | null;
  maxTs: bigint | null;
}
/** An object to delete once `dueAtMs` has passed (replaced by compaction or dropped by retention). */
export interface PendingDeleteRow {
  key: string;
  org: OrgId;
  dueAtMs: number;
}
/** Org-wide settings; null = not set (the server default applies). */
export interface OrgSettings {
  /** retention for streams of the org whose own `retention_days` is 0; 0 = keep forever */
  defaultRetentionDays: number | null;
}
export interface IdempotencyRow {
  org: OrgId;
  key: string;
  expiresAtMs: number;
  response: string;
}

/** A metric series: its id within the org and its labels as sorted `[name, value]` pairs (JSON). */
export interface SeriesRow {
  org: OrgId;
  id: number;
  metricName: string;
  labels: [string, string][];
}
export interface MetricMetadataRow {
  metricFamily: string;
  type: string;
  help: string;
  unit: string;
}

export interface Catalog {
  createOrg(org: OrgId, name: string): Promise<OrgRow>;
  getOrgByName(name: string): Promise<OrgRow | undefined>;
  getOrg(org: OrgId): Promise<OrgRow | undefined>;
  listOrgs(): Promise<OrgRow[]>;

  createUser(user: Omit<UserRow, 'createdAtMs'>): Promise<UserRow>;
  getUserByName(name: string): Promise<UserRow | undefined>;
  getUser(id: string): Promise<UserRow | undefined>;
  setMembership(org: OrgId, userId: string, role: Role): Promise<void>;
  listMembers(org: OrgId): Promise<MemberRow[]>;
  membershipsOf(userId: string): Promise<MemberRow[]>;

  createApiKey(org: OrgId, key: Omit<ApiKeyRow, 'org' | 'createdAtMs' | 'revokedAtMs'>): Promise<ApiKeyRow>;
  getApiKey(id: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(org: OrgId): Promise<ApiKeyRow[]>;
  revokeApiKey(org: OrgId, id: string): Promise<boolean>;

  upsertStream(org: OrgId, type: StreamType, name: string, settings: StreamSettings): Promise<StreamRow>;
  listStreams(org: OrgId | null): Promise<StreamRow[]>;
  updateStreamSettings(org: OrgId, type: StreamType, name: string, settings: StreamSettings): Promise<void>;
  addStreamFields(org: OrgId, type: StreamType, stream: string, fields: StreamFieldRow[]): Promise<void>;
  listStreamFields(org: OrgId, type: StreamType, stream: string): Promise<StreamFieldRow[]>;

  /** One transaction: the files become visible, the stream's flushed seq moves, keys are kept. */
  commitFlush(
    org: OrgId,
    type: StreamType,
    stream: string,
    files: FileRow[],
    flushedSeq: number,
    idempotency: IdempotencyRow[],
  ): Promise<void>;
  /** Files overlapping [minTs, maxTs] (inclusive); null = unbounded. */
  listFiles(
    org: OrgId,
    type: StreamType,
    stream: string,
    minTs: bigint | null,
    maxTs: bigint | null,
  ): Promise<FileRow[]>;
  listAllFileKeys(): Promise<Set<string>>;
  /**
   * One transaction (compaction, retention, delete): the rows of `oldKeys` go, `newFiles` become
   * visible, and `pendingDeletes` are recorded. Returns false and changes nothing when one of
   * `oldKeys` is no longer catalogued (another swap took it first).
   */
  replaceFiles(
    org: OrgId,
    type: StreamType,
    stream: string,
    oldKeys: readonly string[],
    newFiles: readonly FileRow[],
    pendingDeletes: readonly PendingDeleteRow[],
  ): Promise<boolean>;
  /** Pending deletes due at or before `dueAtMs` (null: all), oldest first. */
  listPendingDeletes(dueAtMs: number | null): Promise<PendingDeleteRow[]>;
  /** Forgets pending deletes once their objects are gone. */
  removePendingDeletes(keys: readonly string[]): Promise<void>;
  getOrgSettings(org: OrgId): Promise<OrgSettings>;
  setOrgSettings(org: OrgId, settings: OrgSettings): Promise<void>;
  streamStats(org: OrgId): Promise<StreamStats[]>;

  loadIdempotencyKeys(nowMs: number): Promise<IdempotencyRow[]>;

  /** New series are recorded before any sample of theirs enters the WAL (replay resolves them). */
  addSeries(rows: SeriesRow[]): Promise<void>;
  listSeries(org: OrgId | null): Promise<SeriesRow[]>;
  upsertMetricMetadata(org: OrgId, rows: MetricMetadataRow[]): Promise<void>;
  listMetricMetadata(org: OrgId): Promise<MetricMetadataRow[]>;
  close(): Promise<void>;
}
