/**
 * The catalog written once for both backends: every statement (with `?` placeholders; the
 * PostgreSQL driver numbers them), the mapping of result rows to the interface's types, and
 * `SqlCatalog`, which implements the Catalog interface over a small `SqlDriver` (sqlite.ts,
 * postgres.ts). The drivers hand integers back differently (SQLite: bigint with safeIntegers; pg:
 * BIGINT, COUNT and SUM as strings), so every mapper converts with Number() or BigInt(), which take
 * either: both backends return exactly the same values.
 */
import type {
  ApiKeyRow,
  Catalog,
  FileRow,
  IdempotencyRow,
  MemberRow,
  MetricMetadataRow,
  OrgRow,
  OrgSettings,
  PendingDeleteRow,
  Role,
  Scope,
  SeriesRow,
  StreamFieldRow,
  StreamRow,
  StreamSettings,
  StreamStats,
  StreamType,
  UserRow,
} from './catalog.ts';
import { asOrgId, type OrgId } from '../tenancy/org-id.ts';

export type Row = Record<string, unknown>;

/** Bounds of BIGINT: an unbounded side of a time-range lookup. */
export const MIN_BIGINT = -(2n ** 63n);
export const MAX_BIGINT = 2n ** 63n - 1n;

const members = (where: string) =>
  `SELECT m.org_id, m.user_id, m.role, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE ${where} ORDER BY u.name`;

export const SQL = {
  insertOrg: 'INSERT INTO orgs (id, name, created_at_ms) VALUES (?, ?, ?)',
  orgByName: 'SELECT * FROM orgs WHERE name = ?',
  orgById: 'SELECT * FROM orgs WHERE id = ?',
  listOrgs: 'SELECT * FROM orgs ORDER BY name',

  insertUser: 'INSERT INTO users (id, name, password_hash, is_root, created_at_ms) VALUES (?, ?, ?, ?, ?)',
  userByName: 'SELECT * FROM users WHERE name = ?',
  userById: 'SELECT * FROM users WHERE id = ?',
  setMembership:
    'INSERT INTO memberships (org_id, user_id, role) VALUES (?, ?, ?) ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role',
  membersOfOrg: members('m.org_id = ?'),
  membershipsOfUser: members('m.user_id = ?'),

  insertApiKey:
    'INSERT INTO api_keys (id, org_id, name, key_hash, scopes, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
  apiKeyById: 'SELECT * FROM api_keys WHERE id = ?',
  listApiKeys: 'SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at_ms',
  revokeApiKey: 'UPDATE api_keys SET revoked_at_ms = ? WHERE org_id = ? AND id = ? AND revoked_at_ms IS NULL',

  insertStream:
    'INSERT INTO streams (org_id, type, name, settings, flushed_seq, created_at_ms) VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (org_id, type, name) DO NOTHING',
  streamByName: 'SELECT * FROM streams WHERE org_id = ? AND type = ? AND name = ?',
  listAllStreams: 'SELECT * FROM streams ORDER BY org_id, type, name',
  listOrgStreams: 'SELECT * FROM streams WHERE org_id = ? ORDER BY type, name',
  updateStreamSettings: 'UPDATE streams SET settings = ? WHERE org_id = ? AND type = ? AND name = ?',
  insertStreamField:
    'INSERT INTO stream_fields (org_id, type, stream, col, field_key, value_type, sql_type, placement, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  listStreamFields:
    'SELECT * FROM stream_fields WHERE org_id = ? AND type = ? AND stream = ? ORDER BY position',

  insertFile:
    'INSERT INTO files (id, org_id, type, stream, object_key, min_ts, max_ts, rows, bytes, column_stats, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  /** only ever raised (the MAX of the old and the new position) */
  raiseFlushedSeq:
    'UPDATE streams SET flushed_seq = ? WHERE org_id = ? AND type = ? AND name = ? AND flushed_seq < ?',
  upsertIdempotencyKey:
    'INSERT INTO idempotency_keys (org_id, idem_key, expires_at_ms, response) VALUES (?, ?, ?, ?) ON CONFLICT (org_id, idem_key) DO UPDATE SET expires_at_ms = excluded.expires_at_ms',
  deleteExpiredIdempotencyKeys: 'DELETE FROM idempotency_keys WHERE expires_at_ms < ?',
  listFiles:
    'SELECT * FROM files WHERE org_id = ? AND type = ? AND stream = ? AND max_ts >= ? AND min_ts <= ? ORDER BY min_ts',
  listAllFileKeys: 'SELECT object_key FROM files',
  deleteFile: 'DELETE FROM files WHERE org_id = ? AND type = ? AND stream = ? AND object_key = ?',
  upsertPendingDelete:
    'INSERT INTO pending_deletes (object_key, org_id, due_at_ms) VALUES (?, ?, ?) ON CONFLICT (object_key) DO UPDATE SET due_at_ms = excluded.due_at_ms',
  listPendingDeletes: 'SELECT * FROM pending_deletes WHERE due_at_ms <= ? ORDER BY due_at_ms, object_key',
  deletePendingDelete: 'DELETE FROM pending_deletes WHERE object_key = ?',
  orgSettings: 'SELECT settings FROM org_settings WHERE org_id = ?',
  upsertOrgSettings:
    'INSERT INTO org_settings (org_id, settings, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at_ms = excluded.updated_at_ms',
  streamStats: `SELECT s.type, s.name, COUNT(f.id) AS files, COALESCE(SUM(f.rows), 0) AS rows, COALESCE(SUM(f.bytes), 0) AS bytes,
              MIN(f.min_ts) AS min_ts, MAX(f.max_ts) AS max_ts
         FROM streams s LEFT JOIN files f ON f.org_id = s.org_id AND f.type = s.type AND f.stream = s.name
        WHERE s.org_id = ? GROUP BY s.type, s.name ORDER BY s.type, s.name`,

  loadIdempotencyKeys: 'SELECT * FROM idempotency_keys WHERE expires_at_ms >= ?',
  insertSeries:
    'INSERT INTO series (org_id, series_id, metric_name, labels, created_at_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  listAllSeries: 'SELECT * FROM series ORDER BY org_id, series_id',
  listOrgSeries: 'SELECT * FROM series WHERE org_id = ? ORDER BY series_id',
  upsertMetricMetadata: `INSERT INTO metric_metadata (org_id, metric_family, type, help, unit, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id, metric_family) DO UPDATE SET type = excluded.type, help = excluded.help, unit = excluded.unit, updated_at_ms = excluded.updated_at_ms`,
  listMetricMetadata: 'SELECT * FROM metric_metadata WHERE org_id = ? ORDER BY metric_family',
} as const;

// Parameters, in the order of the statements above.
export const userParams = (u: Omit<UserRow, 'createdAtMs'>, now: number) => [
  u.id,
  u.name,
  u.passwordHash,
  u.isRoot ? 1 : 0,
  now,
];
export const apiKeyParams = (
  org: OrgId,
  k: Omit<ApiKeyRow, 'org' | 'createdAtMs' | 'revokedAtMs'>,
  now: number,
) => [k.id, org, k.name, k.keyHash, JSON.stringify(k.scopes), now];
export const fieldParams = (org: OrgId, type: StreamType, stream: string, f: StreamFieldRow) => [
  org,
  type,
  stream,
  f.column,
  f.key,
  f.valueType,
  f.sqlType,
  f.placement,
  f.position,
];
/** Where `FileRow.jsonShapes` lives in the `column_stats` text (no column is named with a `$`). */
const JSON_SHAPES_KEY = '$json_shapes';

export const fileParams = (org: OrgId, type: StreamType, stream: string, f: FileRow) => [
  f.id,
  org,
  type,
  stream,
  f.key,
  f.minTs,
  f.maxTs,
  f.rows,
  f.bytes,
  JSON.stringify(
    f.jsonShapes?.length ? { ...f.columnStats, [JSON_SHAPES_KEY]: f.jsonShapes } : f.columnStats,
  ),
  f.createdAtMs,
];
export const raiseFlushedSeqParams = (org: OrgId, type: StreamType, stream: string, seq: number) => [
  seq,
  org,
  type,
  stream,
  seq,
];
export const seriesParams = (r: SeriesRow, now: number) => [
  r.org,
  r.id,
  r.metricName,
  JSON.stringify(r.labels),
  now,
];
export const metadataParams = (org: OrgId, r: MetricMetadataRow, now: number) => [
  org,
  r.metricFamily,
  r.type,
  r.help,
  r.unit,
  now,
];

export const toOrg = (r: Row): OrgRow => ({
  id: asOrgId(r.id as string),
  name: r.name as string,
  createdAtMs: Number(r.created_at_ms),
});
export const toUser = (r: Row): UserRow => ({
  id: r.id as string,
  name: r.name as string,
  passwordHash: r.password_hash as string,
  isRoot: Number(r.is_root) === 1,
  createdAtMs: Number(r.created_at_ms),
});
export const toMember = (r: Row): MemberRow => ({
  userId: r.user_id as string,
  userName: r.name as string,
  org: asOrgId(r.org_id as string),
  role: r.role as Role,
});
export const toKey = (r: Row): ApiKeyRow => ({
  id: r.id as string,
  org: asOrgId(r.org_id as string),
  name: r.name as string,
  keyHash: r.key_hash as string,
  scopes: JSON.parse(r.scopes as string) as Scope[],
  createdAtMs: Number(r.created_at_ms),
  revokedAtMs: r.revoked_at_ms === null ? null : Number(r.revoked_at_ms),
});
export const toStream = (r: Row): StreamRow => ({
  org: asOrgId(r.org_id as string),
  type: r.type as StreamType,
  name: r.name as string,
  settings: JSON.parse(r.settings as string) as StreamSettings,
  flushedSeq: Number(r.flushed_seq),
  createdAtMs: Number(r.created_at_ms),
});
export const toField = (r: Row): StreamFieldRow => ({
  column: r.col as string,
  key: r.field_key as string,
  valueType: r.value_type as string,
  sqlType: r.sql_type as string,
  placement: r.placement as 'column' | 'overflow',
  position: Number(r.position),
});
function withStats(f: Omit<FileRow, 'columnStats'>, text: string): FileRow {
  const stats = JSON.parse(text) as FileRow['columnStats'] & { [JSON_SHAPES_KEY]?: string[] };
  const shapes = stats[JSON_SHAPES_KEY];
  if (shapes === undefined) return { ...f, columnStats: stats };
  delete stats[JSON_SHAPES_KEY];
  return { ...f, columnStats: stats, jsonShapes: shapes };
}

export const toFile = (r: Row): FileRow =>
  withStats(
    {
      id: r.id as string,
      org: asOrgId(r.org_id as string),
      type: r.type as StreamType,
      stream: r.stream as string,
      key: r.object_key as string,
      minTs: BigInt(r.min_ts as bigint),
      maxTs: BigInt(r.max_ts as bigint),
      rows: Number(r.rows),
      bytes: Number(r.bytes),
      createdAtMs: Number(r.created_at_ms),
    },
    r.column_stats as string,
  );
export const toStreamStats = (r: Row): StreamStats => ({
  type: r.type as StreamType,
  name: r.name as string,
  files: Number(r.files),
  rows: Number(r.rows),
  bytes: Number(r.bytes),
  minTs: r.min_ts === null ? null : BigInt(r.min_ts as bigint),
  maxTs: r.max_ts === null ? null : BigInt(r.max_ts as bigint),
});
export const toIdempotency = (r: Row): IdempotencyRow => ({
  org: asOrgId(r.org_id as string),
  key: r.idem_key as string,
  expiresAtMs: Number(r.expires_at_ms),
  response: r.response as string,
});
export const toSeries = (r: Row): SeriesRow => ({
  org: asOrgId(r.org_id as string),
  id: Number(r.series_id),
  metricName: r.metric_name as string,
  labels: JSON.parse(r.labels as string) as [string, string][],
});
export const toMetadata = (r: Row): MetricMetadataRow => ({
  metricFamily: r.metric_family as string,
  type: r.type as string,
  help: r.help as string,
  unit: r.unit as string,
});
export const toPendingDelete = (r: Row): PendingDeleteRow => ({
  key: r.object_key as string,
  org: asOrgId(r.org_id as string),
  dueAtMs: Number(r.due_at_ms),
});
export const toOrgSettings = (r: Row | undefined): OrgSettings => {
  const stored = r ? (JSON.parse(r.settings as string) as Partial<OrgSettings>) : {};
  return { defaultRetentionDays: stored.defaultRetentionDays ?? null };
};

/** One statement of a transaction. */
export interface Statement {
  sql: string;
  args: unknown[];
  /** the whole transaction is undone, and reports false, unless this changes exactly this many rows */
  expectChanges?: number;
}
const st = (sql: string, args: unknown[], expectChanges?: number): Statement =>
  expectChanges === undefined ? { sql, args } : { sql, args, expectChanges };

/** What a backend provides: statements, transactions, and its own housekeeping. */
export interface SqlDriver {
  all(sql: string, args: unknown[]): Promise<Row[]>;
  /** Runs a writing statement; the number of rows it changed. */
  run(sql: string, args: unknown[]): Promise<number>;
  /** The statements in one transaction, in order; false when an `expectChanges` was not met. */
  transaction(statements: readonly Statement[]): Promise<boolean>;
  /** After a flush commit (a quiet point for housekeeping). */
  flushCommitted?(): void;
  close(): Promise<void>;
}

/** The Catalog interface over a SqlDriver: the same statements and transactions on every backend. */
export class SqlCatalog implements Catalog {
  constructor(protected readonly driver: SqlDriver) {}

  private async one(sql: string, ...args: unknown[]): Promise<Row | undefined> {
    return (await this.driver.all(sql, args))[0];
  }
  private async all(sql: string, ...args: unknown[]): Promise<Row[]> {
    return this.driver.all(sql, args);
  }

  async createOrg(org: OrgId, name: string): Promise<OrgRow> {
    const now = Date.now();
    await this.driver.run(SQL.insertOrg, [org, name, now]);
    return { id: org, name, createdAtMs: now };
  }
  async getOrgByName(name: string) {
    const r = await this.one(SQL.orgByName, name);
    return r && toOrg(r);
  }
  async getOrg(org: OrgId) {
    const r = await this.one(SQL.orgById, org);
    return r && toOrg(r);
  }
  async listOrgs() {
    return (await this.all(SQL.listOrgs)).map(toOrg);
  }

  async createUser(user: Omit<UserRow, 'createdAtMs'>): Promise<UserRow> {
    const now = Date.now();
    await this.driver.run(SQL.insertUser, userParams(user, now));
    return { ...user, createdAtMs: now };
  }
  async getUserByName(name: string) {
    const r = await this.one(SQL.userByName, name);
    return r && toUser(r);
  }
  async getUser(id: string) {
    const r = await this.one(SQL.userById, id);
    return r && toUser(r);
  }
  async setMembership(org: OrgId, userId: string, role: Role) {
    await this.driver.run(SQL.setMembership, [org, userId, role]);
  }
  async listMembers(org: OrgId) {
    return (await this.all(SQL.membersOfOrg, org)).map(toMember);
  }
  async membershipsOf(userId: string) {
    return (await this.all(SQL.membershipsOfUser, userId)).map(toMember);
  }

  async createApiKey(
    org: OrgId,
    key: Omit<ApiKeyRow, 'org' | 'createdAtMs' | 'revokedAtMs'>,
  ): Promise<ApiKeyRow> {
    const now = Date.now();
    await this.driver.run(SQL.insertApiKey, apiKeyParams(org, key, now));
    return { ...key, org, createdAtMs: now, revokedAtMs: null };
  }
  async getApiKey(id: string) {
    const r = await this.one(SQL.apiKeyById, id);
    return r && toKey(r);
  }
  async listApiKeys(org: OrgId) {
    return (await this.all(SQL.listApiKeys, org)).map(toKey);
  }
  async revokeApiKey(org: OrgId, id: string) {
    return (await this.driver.run(SQL.revokeApiKey, [Date.now(), org, id])) > 0;
  }

  async upsertStream(
    org: OrgId,
    type: StreamType,
    name: string,
    settings: StreamSettings,
  ): Promise<StreamRow> {
    await this.driver.run(SQL.insertStream, [org, type, name, JSON.stringify(settings), Date.now()]);
    return toStream((await this.one(SQL.streamByName, org, type, name))!);
  }
  async listStreams(org: OrgId | null) {
    const rows = org === null ? await this.all(SQL.listAllStreams) : await this.all(SQL.listOrgStreams, org);
    return rows.map(toStream);
  }
  async updateStreamSettings(org: OrgId, type: StreamType, name: string, settings: StreamSettings) {
    await this.driver.run(SQL.updateStreamSettings, [JSON.stringify(settings), org, type, name]);
  }
  async addStreamFields(org: OrgId, type: StreamType, stream: string, fields: StreamFieldRow[]) {
    await this.driver.transaction(
      fields.map((f) => st(SQL.insertStreamField, fieldParams(org, type, stream, f))),
    );
  }
  async listStreamFields(org: OrgId, type: StreamType, stream: string) {
    return (await this.all(SQL.listStreamFields, org, type, stream)).map(toField);
  }

  async commitFlush(
    org: OrgId,
    type: StreamType,
    stream: string,
    files: FileRow[],
    flushedSeq: number,
    idempotency: IdempotencyRow[],
  ) {
    await this.driver.transaction([
      ...files.map((f) => st(SQL.insertFile, fileParams(org, type, stream, f))),
      st(SQL.raiseFlushedSeq, raiseFlushedSeqParams(org, type, stream, flushedSeq)),
      ...idempotency.map((k) => st(SQL.upsertIdempotencyKey, [org, k.key, k.expiresAtMs, k.response])),
      st(SQL.deleteExpiredIdempotencyKeys, [Date.now()]),
    ]);
    this.driver.flushCommitted?.();
  }
  async listFiles(org: OrgId, type: StreamType, stream: string, minTs: bigint | null, maxTs: bigint | null) {
    const rows = await this.all(SQL.listFiles, org, type, stream, minTs ?? MIN_BIGINT, maxTs ?? MAX_BIGINT);
    return rows.map(toFile);
  }
  async listAllFileKeys() {
    return new Set((await this.all(SQL.listAllFileKeys)).map((r) => r.object_key as string));
  }
  async replaceFiles(
    org: OrgId,
    type: StreamType,
    stream: string,
    oldKeys: readonly string[],
    newFiles: readonly FileRow[],
    pendingDeletes: readonly PendingDeleteRow[],
  ): Promise<boolean> {
    return this.driver.transaction([
      // a key another swap took first deletes nothing: then nothing of this swap happens
      ...oldKeys.map((k) => st(SQL.deleteFile, [org, type, stream, k], 1)),
      ...newFiles.map((f) => st(SQL.insertFile, fileParams(org, type, stream, f))),
      ...pendingDeletes.map((p) => st(SQL.upsertPendingDelete, [p.key, p.org, p.dueAtMs])),
    ]);
  }
  async listPendingDeletes(dueAtMs: number | null): Promise<PendingDeleteRow[]> {
    return (await this.all(SQL.listPendingDeletes, dueAtMs ?? MAX_BIGINT)).map(toPendingDelete);
  }
  async removePendingDeletes(keys: readonly string[]) {
    await this.driver.transaction(keys.map((k) => st(SQL.deletePendingDelete, [k])));
  }
  async getOrgSettings(org: OrgId): Promise<OrgSettings> {
    return toOrgSettings(await this.one(SQL.orgSettings, org));
  }
  async setOrgSettings(org: OrgId, settings: OrgSettings) {
    await this.driver.run(SQL.upsertOrgSettings, [org, JSON.stringify(settings), Date.now()]);
  }
  async streamStats(org: OrgId): Promise<StreamStats[]> {
    return (await this.all(SQL.streamStats, org)).map(toStreamStats);
  }

  async loadIdempotencyKeys(nowMs: number) {
    return (await this.all(SQL.loadIdempotencyKeys, nowMs)).map(toIdempotency);
  }
  async addSeries(rows: SeriesRow[]) {
    const now = Date.now();
    await this.driver.transaction(rows.map((r) => st(SQL.insertSeries, seriesParams(r, now))));
  }
  async listSeries(org: OrgId | null): Promise<SeriesRow[]> {
    const rows = org === null ? await this.all(SQL.listAllSeries) : await this.all(SQL.listOrgSeries, org);
    return rows.map(toSeries);
  }
  async upsertMetricMetadata(org: OrgId, rows: MetricMetadataRow[]) {
    const now = Date.now();
    await this.driver.transaction(rows.map((r) => st(SQL.upsertMetricMetadata, metadataParams(org, r, now))));
  }
  async listMetricMetadata(org: OrgId): Promise<MetricMetadataRow[]> {
    return (await this.all(SQL.listMetricMetadata, org)).map(toMetadata);
  }
  async close() {
    await this.driver.close();
  }
}
