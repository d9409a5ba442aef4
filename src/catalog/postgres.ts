/**
 * PostgreSQL catalog backend (`catalog.backend: postgres`): the statements of sql.ts and the
 * migrations of migrations.ts, run through a `pg` pool. Where SQLite runs a transaction this runs
 * one too (BEGIN … COMMIT on one pooled connection). Migrations are applied under an advisory lock,
 * so servers (or `molesignal migrate`) starting at the same time apply each one exactly once.
 */
import pg from 'pg';
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL, migrationSql } from './migrations.ts';
import {
  catalogOpenError,
  catalogUnavailable,
  describeTarget,
  isUnavailable,
  poolConfig,
} from './pg-connection.ts';
import { SqlCatalog, type Row, type SqlDriver, type Statement } from './sql.ts';
import type { Logger } from '../lib/logger.ts';

/** pg_advisory_lock key held while migrations are applied (a fixed int8 for "molesignal"). */
export const MIGRATION_LOCK_KEY = '7236837298151698';

/** PostgreSQL numbers its placeholders: `?` → `$1, $2, …` (no statement of sql.ts has a `?` in a literal). */
const numbered = new Map<string, string>();
function pgText(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let i = 0;
    text = sql.replace(/\?/g, () => `$${++i}`);
    numbered.set(sql, text);
  }
  return text;
}

/** `INSERT … VALUES (?, ?)` with its tuple repeated `n` times. */
function multiRow(sql: string, n: number): string {
  const tuple = /VALUES (\([^)]*\))/.exec(sql)![1]!;
  return sql.replace(`VALUES ${tuple}`, `VALUES ${Array.from({ length: n }, () => tuple).join(', ')}`);
}
/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000;
/**
 * Whether consecutive runs of this statement may become one multi-row statement: inserts whose
 * conflicts change nothing. One that updates on conflict stays one row per statement, since
 * PostgreSQL refuses to update a row twice in one statement where SQLite's loop lets the last win.
 */
const mergeable = (s: Statement) =>
  s.expectChanges === undefined && s.sql.startsWith('INSERT') && !s.sql.includes('DO UPDATE');

/** Groups consecutive mergeable statements of the same text into multi-row ones. */
function merged(statements: readonly Statement[]): Statement[] {
  const out: Statement[] = [];
  for (let i = 0; i < statements.length;) {
    const s = statements[i]!;
    if (!mergeable(s)) {
      out.push(s);
      i++;
      continue;
    }
    const max = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / Math.max(1, s.args.length))));
    let j = i + 1;
    while (j < statements.length && j - i < max && statements[j]!.sql === s.sql && mergeable(statements[j]!))
      j++;
    const group = statements.slice(i, j);
    out.push(
      group.length === 1 ? s : { sql: multiRow(s.sql, group.length), args: group.flatMap((g) => g.args) },
    );
    i = j;
  }
  return out;
}

/** BEGIN, fn, COMMIT on one connection; ROLLBACK when fn (or the COMMIT) throws. */
async function inTransaction<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (e) {
    // a broken connection cannot roll back; the caller closes it, which ends the transaction
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Thrown inside a transaction to roll it back when a statement did not change what it expected. */
class Unmet extends Error {}

class PgDriver implements SqlDriver {
  constructor(
    readonly pool: pg.Pool,
    private readonly target: string,
  ) {}

  /** Runs fn; a failure to reach the database becomes a retryable 503 (see catalogUnavailable). */
  private async reach<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw isUnavailable(e) ? catalogUnavailable(e, this.target) : e;
    }
  }
  async all(sql: string, args: unknown[]): Promise<Row[]> {
    return this.reach(async () => (await this.pool.query(pgText(sql), args)).rows as Row[]);
  }
  async run(sql: string, args: unknown[]): Promise<number> {
    return this.reach(async () => (await this.pool.query(pgText(sql), args)).rowCount ?? 0);
  }
  /** A connection of the pool for fn; closed instead of pooled again when fn failed. */
  async withClient<T>(
    fn: (client: pg.PoolClient) => Promise<T>,
    keepOn?: (e: unknown) => boolean,
  ): Promise<T> {
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      return await fn(client);
    } catch (e) {
      if (!keepOn?.(e)) failure = e as Error;
      throw e;
    } finally {
      client.release(failure);
    }
  }
  async transaction(statements: readonly Statement[]): Promise<boolean> {
    if (statements.length === 0) return true;
    try {
      await this.reach(() =>
        this.withClient(
          (client) =>
            inTransaction(client, async () => {
              for (const s of merged(statements)) {
                const changes = (await client.query(pgText(s.sql), s.args)).rowCount ?? 0;
                if (s.expectChanges !== undefined && changes !== s.expectChanges) throw new Unmet();
              }
            }),
          (e) => e instanceof Unmet,
        ),
      );
    } catch (e) {
      if (e instanceof Unmet) return false;
      throw e;
    }
    return true;
  }
  async close() {
    await this.pool.end();
  }
}

export class PostgresCatalog extends SqlCatalog {
  private constructor(
    private readonly pgDriver: PgDriver,
    /** `host:port/database as user`, for messages (never the password) */
    readonly target: string,
  ) {
    super(pgDriver);
  }

  /**
   * Connects, applies the pending migrations, and returns the catalog; a connection or
   * authentication failure is a MoleError naming the target and what to check.
   */
  static async open(url: string, log?: Logger): Promise<PostgresCatalog> {
    const target = describeTarget(url);
    const pool = new pg.Pool(poolConfig(url));
    // An idle connection that breaks (server restart) must not crash the process: the pool
    // drops it and the next query opens a new one.
    pool.on('error', (err) =>
      log?.warn(
        { err: { message: err.message }, target },
        'a PostgreSQL catalog connection failed; it is replaced',
      ),
    );
    const catalog = new PostgresCatalog(new PgDriver(pool, target), target);
    try {
      await catalog.migrate();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw catalogOpenError(e, url, target);
    }
    return catalog;
  }

  /** Applies the migrations not yet recorded in `schema_migrations`; the versions it applied. */
  async migrate(): Promise<number[]> {
    return this.pgDriver.withClient(async (client) => {
      // a session lock: closing the connection (on failure) frees it too
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(migrationSql(SCHEMA_MIGRATIONS_DDL, 'postgres'));
      const applied = new Set(
        (await client.query('SELECT version FROM schema_migrations')).rows.map((r: Row) => Number(r.version)),
      );
      const done: number[] = [];
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await inTransaction(client, async () => {
          for (const stmt of m.sql) await client.query(migrationSql(stmt, 'postgres'));
          await client.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            Date.now(),
          ]);
        });
        done.push(m.version);
      }
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      return done;
    });
  }
}
