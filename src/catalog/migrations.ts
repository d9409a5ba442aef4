/**
 * Catalog schema, one ordered list of migrations written in the SQL subset that SQLite and
 * PostgreSQL share (TEXT, BIGINT, INTEGER; no AUTOINCREMENT). Applied versions are recorded in
 * `schema_migrations`. docs/format/catalog.md describes the tables.
 */
export type Dialect = 'sqlite' | 'postgres';

export const SCHEMA_MIGRATIONS_DDL =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)';

/**
 * A statement of the list as the dialect runs it. The one difference: PostgreSQL compares TEXT by
 * the database's locale unless told otherwise, SQLite byte by byte (BINARY); `COLLATE "C"` makes
 * PostgreSQL's ORDER BY and keys byte-wise too, so list results come back in the same order.
 */
export function migrationSql(sql: string, dialect: Dialect): string {
  return dialect === 'postgres' ? sql.replace(/\bTEXT\b/g, 'TEXT COLLATE "C"') : sql;
}

export const MIGRATIONS: readonly { version: number; name: string; sql: string[] }[] = [
  {
    version: 1,
    name: 'initial',
    sql: [
      `CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at_ms BIGINT NOT NULL)`,
      `CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
         is_root INTEGER NOT NULL, created_at_ms BIGINT NOT NULL)`,
      `CREATE TABLE memberships (org_id TEXT NOT NULL REFERENCES orgs(id), user_id TEXT NOT NULL REFERENCES users(id),
         role TEXT NOT NULL, PRIMARY KEY (org_id, user_id))`,
      `CREATE TABLE api_keys (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,
         key_hash TEXT NOT NULL, scopes TEXT NOT NULL, created_at_ms BIGINT NOT NULL, revoked_at_ms BIGINT)`,
      `CREATE TABLE streams (org_id TEXT NOT NULL REFERENCES orgs(id), type TEXT NOT NULL, name TEXT NOT NULL,
         settings TEXT NOT NULL, flushed_seq BIGINT NOT NULL, created_at_ms BIGINT NOT NULL,
         PRIMARY KEY (org_id, type, name))`,
      `CREATE TABLE stream_fields (org_id TEXT NOT NULL, type TEXT NOT NULL, stream TEXT NOT NULL,
         col TEXT NOT NULL, field_key TEXT NOT NULL, value_type TEXT NOT NULL, sql_type TEXT NOT NULL,
         placement TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (org_id, type, stream, field_key, value_type))`,
      `CREATE TABLE files (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, type TEXT NOT NULL, stream TEXT NOT NULL,
         object_key TEXT NOT NULL UNIQUE, min_ts BIGINT NOT NULL, max_ts BIGINT NOT NULL, rows BIGINT NOT NULL,
         bytes BIGINT NOT NULL, column_stats TEXT NOT NULL, created_at_ms BIGINT NOT NULL)`,
      `CREATE INDEX files_by_stream_time ON files (org_id, type, stream, min_ts, max_ts)`,
      `CREATE TABLE idempotency_keys (org_id TEXT NOT NULL, idem_key TEXT NOT NULL, expires_at_ms BIGINT NOT NULL,
         response TEXT NOT NULL, PRIMARY KEY (org_id, idem_key))`,
    ],
  },
  {
    version: 2,
    name: 'metric series and metadata',
    sql: [
      `CREATE TABLE series (org_id TEXT NOT NULL, series_id BIGINT NOT NULL, metric_name TEXT NOT NULL,
         labels TEXT NOT NULL, created_at_ms BIGINT NOT NULL, PRIMARY KEY (org_id, series_id))`,
      `CREATE TABLE metric_metadata (org_id TEXT NOT NULL, metric_family TEXT NOT NULL, type TEXT NOT NULL,
         help TEXT NOT NULL, unit TEXT NOT NULL, updated_at_ms BIGINT NOT NULL, PRIMARY KEY (org_id, metric_family))`,
    ],
  },
  {
    version: 3,
    name: 'pending object deletes and org settings',
    sql: [
      `CREATE TABLE pending_deletes (object_key TEXT PRIMARY KEY, org_id TEXT NOT NULL, due_at_ms BIGINT NOT NULL)`,
      `CREATE INDEX pending_deletes_by_due ON pending_deletes (due_at_ms)`,
      `CREATE TABLE org_settings (org_id TEXT PRIMARY KEY REFERENCES orgs(id), settings TEXT NOT NULL,
         updated_at_ms BIGINT NOT NULL)`,
    ],
  },
];

/** The catalog's tables in creation order (a table comes after those it references). */
export const catalogTables = (): string[] =>
  MIGRATIONS.flatMap((m) => m.sql.map((stmt) => /^CREATE TABLE (\w+)/.exec(stmt)?.[1])).filter(
    (t): t is string => t !== undefined,
  );
