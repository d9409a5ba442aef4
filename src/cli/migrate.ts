/**
 * `molesignal migrate`: copies a SQLite catalog into an empty PostgreSQL database, table by table,
 * in one PostgreSQL transaction (a failure leaves the target as it was), from one read snapshot
 * of the SQLite file; then checks that every table has the same number of rows on both sides.
 * The Parquet files and the WAL stay in the data dir: the server started on PostgreSQL with the
 * same data dir finds them through the copied file list and flushed WAL positions.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { catalogTables } from '../catalog/migrations.ts';
import { catalogOpenError, describeTarget, poolConfig } from '../catalog/pg-connection.ts';
import { PostgresCatalog } from '../catalog/postgres.ts';
import { SqliteCatalog } from '../catalog/sqlite.ts';
import { MoleError } from '../lib/errors.ts';

export interface MigrateOptions {
  sqlitePath: string;
  postgresUrl: string;
  /** replace the contents of a target that is not empty */
  force: boolean;
  /** one line of progress */
  say: (line: string) => void;
}

export interface MigrateResult {
  target: string;
  tables: { table: string; rows: number }[];
}

/** Rows per INSERT statement, kept under PostgreSQL's 65,535 parameters for every table. */
const ROWS_PER_INSERT = 2000;
/** A progress line every this many rows of one table. */
const PROGRESS_EVERY = 50_000;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const migrateError = (message: string) =>
  new MoleError(message, { code: 'MS_ERR_MIGRATE', status: 400, reason: 'bad_request' });

export async function migrateSqliteToPostgres(opts: MigrateOptions): Promise<MigrateResult> {
  if (!existsSync(opts.sqlitePath)) {
    throw migrateError(
      `no SQLite catalog at ${opts.sqlitePath}: pass the server's --data-dir (or --config), or --sqlite <file>`,
    );
  }
  // Bring the source to the current schema (what the server would do at its next start), and the
  // target too: both then have the same tables and columns.
  await new SqliteCatalog(opts.sqlitePath).close();
  await (await PostgresCatalog.open(opts.postgresUrl)).close();

  const target = describeTarget(opts.postgresUrl);
  const tables = catalogTables();
  const source = new Database(opts.sqlitePath, { readonly: true, fileMustExist: true });
  const client = new pg.Client(poolConfig(opts.postgresUrl));
  try {
    await client.connect();
  } catch (e) {
    source.close();
    throw catalogOpenError(e, opts.postgresUrl, target);
  }
  try {
    source.exec('BEGIN'); // one read snapshot for every table
    await client.query('BEGIN');
    const present: string[] = [];
    for (const t of tables) {
      const { rows } = await client.query(`SELECT COUNT(*) AS n FROM ${quote(t)}`);
      const n = Number((rows[0] as { n: string }).n);
      if (n > 0) present.push(`${t} (${n} rows)`);
    }
    if (present.length > 0) {
      if (!opts.force) {
        throw migrateError(
          `the PostgreSQL catalog at ${target} is not empty: ${present.join(', ')}. ` +
            'Point catalog.postgresUrl at an empty database, or pass --force to replace its contents.',
        );
      }
      opts.say(`--force: replacing the contents of ${target} (${present.join(', ')})`);
      await client.query(`TRUNCATE ${tables.map(quote).join(', ')}`);
    }

    opts.say(`copying ${opts.sqlitePath} into PostgreSQL at ${target}`);
    const copied: { table: string; rows: number }[] = [];
    for (const t of tables) {
      const total = Number(
        (source.prepare(`SELECT COUNT(*) AS n FROM ${quote(t)}`).get() as { n: number }).n,
      );
      const columns = (source.prepare(`PRAGMA table_info(${quote(t)})`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      const rows = source
        .prepare(`SELECT * FROM ${quote(t)} ORDER BY rowid`)
        .safeIntegers(true)
        .raw(true);
      let done = 0;
      let batch: unknown[][] = [];
      const insert = async () => {
        if (batch.length === 0) return;
        let p = 0;
        const tuples = batch.map(() => `(${columns.map(() => `$${++p}`).join(', ')})`);
        await client.query(
          `INSERT INTO ${quote(t)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`,
          batch.flat(),
        );
        done += batch.length;
        batch = [];
      };
      for (const row of rows.iterate() as IterableIterator<unknown[]>) {
        batch.push(row);
        if (batch.length === ROWS_PER_INSERT) {
          await insert();
          if (done % PROGRESS_EVERY === 0) opts.say(`  ${t}: ${done} of ${total} rows`);
        }
      }
      await insert();
      opts.say(`  ${t}: ${done} rows`);
      copied.push({ table: t, rows: done });
    }

    const mismatched: string[] = [];
    for (const c of copied) {
      const { rows } = await client.query(`SELECT COUNT(*) AS n FROM ${quote(c.table)}`);
      const inTarget = Number((rows[0] as { n: string }).n);
      const inSource = Number(
        (source.prepare(`SELECT COUNT(*) AS n FROM ${quote(c.table)}`).get() as { n: number }).n,
      );
      if (inTarget !== inSource || inTarget !== c.rows)
        mismatched.push(`${c.table}: ${inSource} in SQLite, ${inTarget} in PostgreSQL`);
    }
    if (mismatched.length > 0) {
      throw migrateError(`row counts differ after the copy, nothing was committed: ${mismatched.join('; ')}`);
    }
    await client.query('COMMIT');
    return { target, tables: copied };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    if (source.inTransaction) source.exec('COMMIT');
    source.close();
    await client.end().catch(() => undefined);
  }
}
