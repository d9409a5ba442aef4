/** SQLite catalog backend (embedded default), WAL journal mode, synchronous=FULL. */
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations.ts';
import { SqlCatalog, type Row, type SqlDriver, type Statement } from './sql.ts';

/** Thrown inside a transaction to roll it back when a statement did not change what it expected. */
class Unmet extends Error {}

class SqliteDriver implements SqlDriver {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec(SCHEMA_MIGRATIONS_DDL);
    const applied = this.db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
    for (const m of MIGRATIONS) {
      // IMMEDIATE: the write lock is taken before the check, so a second process opening the same
      // file at the same time waits, then finds the migration applied
      this.db
        .transaction(() => {
          if (applied.get(m.version)) return;
          for (const stmt of m.sql) this.db.exec(stmt);
          this.db
            .prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)')
            .run(m.version, m.name, Date.now());
        })
        .immediate();
    }
  }

  /** Statements compiled once per SQL text (the texts are the constants of sql.ts). */
  private readonly statements = new Map<string, Database.Statement>();
  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (s.reader) s.safeIntegers(true);
      this.statements.set(sql, s);
    }
    return s;
  }

  async all(sql: string, args: unknown[]): Promise<Row[]> {
    return this.statement(sql).all(...args) as Row[];
  }
  async run(sql: string, args: unknown[]): Promise<number> {
    return this.statement(sql).run(...args).changes;
  }
  async transaction(statements: readonly Statement[]): Promise<boolean> {
    try {
      this.db.transaction(() => {
        for (const s of statements) {
          const changes = this.statement(s.sql).run(...s.args).changes;
          if (s.expectChanges !== undefined && changes !== s.expectChanges) throw new Unmet();
        }
      })();
    } catch (e) {
      if (e instanceof Unmet) return false;
      throw e;
    }
    return true;
  }
  // A flush is a quiet point: fold SQLite's WAL into the database and truncate it. Left alone,
  // the -wal file stays at its high-water mark (~4 MB after 1,000 pages of series inserts:
  // 0.28 B/sample of TSBS's 14.4 M samples, as much as the series table itself).
  flushCommitted(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }
  async close() {
    this.db.close();
  }
}

export class SqliteCatalog extends SqlCatalog {
  constructor(path: string) {
    super(new SqliteDriver(path));
  }
}
