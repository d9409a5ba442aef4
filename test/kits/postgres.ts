/**
 * A throwaway PostgreSQL server for tests: the Debian package's binaries (`postgresql`, in
 * /usr/lib/postgresql/<version>/bin), initdb into a temp dir, listening on 127.0.0.1 on a free port
 * with its socket in that dir, fsync off. PostgreSQL refuses to run as root, so as root the dir is
 * chowned to the `postgres` user and the binaries run through `runuser -u postgres --`.
 * Password authentication over TCP (scram-sha-256), so tests can also present a wrong password.
 *
 * Missing binaries: `postgresOrSkip` / `postgresForFile` skip the test with a message, or fail it
 * under CI=true (.ci/run installs the package).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import pg from 'pg';

const run = promisify(execFile);

export const PG_SUPERUSER = 'postgres';

export interface PostgresServer {
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> of a fresh database */
  url: string;
  host: string;
  port: number;
  password: string;
  /**
   * A new empty database on the same server; its URL. `icuLocale` (e.g. `en-US`) makes its default
   * collation a natural-language one, as production databases often have (initdb here uses C.UTF-8).
   */
  createDatabase(name: string, opts?: { icuLocale?: string }): Promise<string>;
  /** stops the server (fast shutdown: clients are disconnected) but keeps its data, for outage tests */
  pause(): Promise<void>;
  /** starts it again after pause(), on the same port */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory, or null. */
function findBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : null;
}

export class PostgresUnavailable extends Error {}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export const pgUrl = (port: number, password: string, database: string, user = PG_SUPERUSER) =>
  `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

/** Starts a server and creates database `molesignal`; throws PostgresUnavailable without binaries. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findBinDir();
  if (!bin) {
    throw new PostgresUnavailable(
      'PostgreSQL server binaries are missing (/usr/lib/postgresql/<version>/bin/initdb): apt-get install postgresql',
    );
  }
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'molesignal-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, password + '\n');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', PG_SUPERUSER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', PG_SUPERUSER], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
    await chown(pwfile, uid, gid);
  }
  await chmod(dir, 0o700);
  const cmd = (name: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', PG_SUPERUSER, '--', join(bin, name), ...args]] : [join(bin, name), args];
  const exec = async (name: string, args: string[]) => {
    const [file, argv] = cmd(name, args);
    try {
      await run(file, argv, { env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' } });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${name} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
    }
  };

  await exec('initdb', [
    '-D',
    data,
    '-U',
    PG_SUPERUSER,
    `--pwfile=${pwfile}`,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const port = await freePort();
  const options = [
    '-c listen_addresses=127.0.0.1',
    `-p ${port}`,
    `-k ${dir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ].join(' ');
  const stopNow = () => {
    const [file, argv] = cmd('pg_ctl', ['-D', data, 'stop', '-m', 'immediate']);
    spawnSync(file, argv, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  const start = () =>
    exec('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
  await start();
  // a test process that ends without stop() must not leave a server (or its dir) behind
  process.once('exit', stopNow);

  const createDatabase = async (name: string, opts: { icuLocale?: string } = {}) => {
    const admin = new pg.Client({ connectionString: pgUrl(port, password, 'postgres') });
    await admin.connect();
    try {
      const icu = opts.icuLocale
        ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${opts.icuLocale.replace(/'/g, "''")}'`
        : '';
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"${icu}`);
    } finally {
      await admin.end();
    }
    return pgUrl(port, password, name);
  };
  const url = await createDatabase('molesignal');
  let stopped = false;
  return {
    url,
    host: '127.0.0.1',
    port,
    password,
    createDatabase,
    pause: () => exec('pg_ctl', ['-D', data, 'stop', '-m', 'fast', '-w']),
    resume: start,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopNow);
      await exec('pg_ctl', ['-D', data, 'stop', '-m', 'immediate']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** startPostgres(), or null after skipping the test when the binaries are missing (fails under CI=true). */
export async function postgresOrSkip(t: { skip: (m: string) => void }): Promise<PostgresServer | null> {
  try {
    return await startPostgres();
  } catch (e) {
    if (!(e instanceof PostgresUnavailable) || process.env.CI === 'true') throw e;
    t.skip(e.message);
    return null;
  }
}

/**
 * One server for a whole test file: started in a `before` hook, stopped in an `after` hook.
 * `server` stays null, and `skip` says why, when the binaries are missing (a failure under CI=true).
 */
export function postgresForFile(): { server: PostgresServer | null; skip: string } {
  const state: { server: PostgresServer | null; skip: string } = { server: null, skip: '' };
  before(async () => {
    try {
      state.server = await startPostgres();
    } catch (e) {
      if (!(e instanceof PostgresUnavailable) || process.env.CI === 'true') throw e;
      state.skip = e.message;
    }
  });
  after(async () => {
    await state.server?.stop();
  });
  return state;
}
