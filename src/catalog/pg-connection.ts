/**
 * Where the PostgreSQL catalog lives: `catalog.postgresUrl` (postgres://user:password@host:port/db),
 * or, when it is empty, the standard PG* environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER,
 * PGPASSWORD, ...) as libpq reads them; the `pg` driver fills every part the URL leaves out from
 * them. Messages name the host, port, database and user, never the password.
 */
import pg from 'pg';
import { MoleError } from '../lib/errors.ts';

/** How long a new connection may take before the start gives up with a message. */
const CONNECT_TIMEOUT_MS = 10_000;

export function poolConfig(url: string): pg.PoolConfig {
  return {
    ...(url === '' ? {} : { connectionString: url }),
    application_name: 'molesignal',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    max: 8,
  };
}

/** `host:port/database as user`, resolved the way the driver will connect. */
export function describeTarget(url: string): string {
  let c: pg.Client;
  try {
    c = new pg.Client(poolConfig(url)); // resolves URL and environment; connects nothing
  } catch (e) {
    throw new MoleError(
      `catalog.postgresUrl cannot be read (${(e as Error).message}): use postgres://user:password@host:port/database, with special characters of the password percent-encoded`,
      { code: 'MS_ERR_CONFIG', status: 400, reason: 'config_invalid', cause: e },
    );
  }
  return `${c.host}:${c.port}/${c.database ?? ''} as ${c.user ?? ''}`;
}

const HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing accepts connections there: is PostgreSQL running, and are the host and port right?',
  ENOTFOUND: 'the host name does not resolve: check the host',
  EAI_AGAIN: 'the host name does not resolve: check the host and DNS',
  ETIMEDOUT: 'no answer from the host: check the host, the port and firewalls',
  EHOSTUNREACH: 'the host is unreachable: check the host and the network',
  '28P01': 'the password was refused: check the user and password',
  '28000':
    'the server refused this user, database or client address: check pg_hba.conf and that the role may log in',
  '3D000': 'the database does not exist: create it (createdb) or fix the database name',
  '42501': 'permission denied: the user needs CREATE on the database (schema public) to apply the migrations',
  '53300': 'the server has no free connection slots: raise max_connections or stop other clients',
  '57P03': 'the server is starting up or shutting down: try again shortly',
};

/** Why the catalog could not be opened, and what to check next. */
export function catalogOpenError(e: unknown, url: string, target: string): MoleError {
  const err = e as { code?: string; message?: string };
  let message = err.message ?? String(e);
  const password = (() => {
    try {
      return decodeURIComponent(new URL(url).password);
    } catch {
      return '';
    }
  })();
  if (password !== '') message = message.split(password).join('********');
  const hint =
    (err.code && HINTS[err.code]) ??
    (/timeout/i.test(message)
      ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s: check the host, the port and firewalls`
      : null);
  return new MoleError(
    `cannot open the PostgreSQL catalog at ${target}: ${message}` +
      (hint ? ` (${hint})` : '') +
      '. It is set by catalog.postgresUrl (MOLESIGNAL_CATALOG_POSTGRES_URL) or, when that is empty, the PG* environment variables.',
    { code: 'MS_ERR_CATALOG_UNAVAILABLE', status: 503, reason: 'unavailable', cause: e },
  );
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** Whether a query failed because the database could not be reached (not because of the query). */
export function isUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  if (typeof err.code === 'string') return UNAVAILABLE_CODES.has(err.code) || err.code.startsWith('08');
  return (
    typeof err.message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|connection error|Connection ended/i.test(
      err.message,
    )
  );
}

/**
 * A request that needs the catalog while PostgreSQL is unreachable: 503 with Retry-After, which
 * clients (OTLP exporters, Prometheus remote write, Loki clients) retry; acknowledged data is in
 * the WAL and unaffected.
 */
export const catalogUnavailable = (e: unknown, target: string): MoleError =>
  new MoleError(`the PostgreSQL catalog at ${target} is unreachable (${(e as Error).message}); retry later`, {
    code: 'MS_ERR_CATALOG_UNAVAILABLE',
    status: 503,
    reason: 'unavailable',
    retryable: true,
    cause: e,
  });
