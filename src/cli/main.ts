/** The `molesignal` command line. */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { loadConfig, maskedConfig, processEnv, type Config } from '../config/config.ts';
import { stringify as toYaml } from 'yaml';
import { createLogger } from '../lib/logger.ts';
import { isMoleError } from '../lib/errors.ts';
import { clientFrom, type ClientOptions } from './client.ts';
import { renderTable } from './table.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

interface StartFlags {
  config?: string;
  dataDir?: string;
  httpPort?: string;
  httpHost?: string;
  grpcPort?: string;
  jaegerUdpCompactPort?: string;
  jaegerUdpBinaryPort?: string;
  logLevel?: string;
  walRepair?: boolean;
  syslogUdpPort?: string;
  syslogTcpPort?: string;
  syslogTlsPort?: string;
  postgresUrl?: string | undefined;
}

function configFrom(flags: StartFlags): Config {
  const env = processEnv();
  return loadConfig({
    file: flags.config ?? env.MOLESIGNAL_CONFIG,
    env,
    flags: {
      dataDir: flags.dataDir,
      'http.port': flags.httpPort,
      'http.host': flags.httpHost,
      'grpc.port': flags.grpcPort,
      'jaeger.udpCompactPort': flags.jaegerUdpCompactPort,
      'jaeger.udpBinaryPort': flags.jaegerUdpBinaryPort,
      'log.level': flags.logLevel,
      'wal.repair': flags.walRepair,
      'syslog.udpPort': flags.syslogUdpPort,
      'syslog.tcpPort': flags.syslogTcpPort,
      'syslog.tlsPort': flags.syslogTlsPort,
      'catalog.postgresUrl': flags.postgresUrl,
    },
  });
}

const serverFlags = (cmd: Command) =>
  cmd
    .option('--config <file>', 'YAML config file (also MOLESIGNAL_CONFIG)')
    .option('--data-dir <dir>', 'data directory (default ./data; MOLESIGNAL_DATA_DIR)')
    .option('--http-port <n>', 'HTTP port (default 5080; MOLESIGNAL_HTTP_PORT)')
    .option('--http-host <addr>', 'HTTP listen address (default 0.0.0.0)')
    .option('--grpc-port <n>', 'OTLP/gRPC port (default 4317; MOLESIGNAL_GRPC_PORT)')
    .option(
      '--jaeger-udp-compact-port <n>',
      'Jaeger agent UDP port, compact Thrift (off by default; usually 6831)',
    )
    .option(
      '--jaeger-udp-binary-port <n>',
      'Jaeger agent UDP port, binary Thrift (off by default; usually 6832)',
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .option('--wal-repair', 'start even if a WAL segment is corrupt mid-file, truncating it there')
    .option('--syslog-udp-port <n>', 'syslog UDP listener (off unless set; 0 = any free port)')
    .option('--syslog-tcp-port <n>', 'syslog TCP listener (off unless set)')
    .option('--syslog-tls-port <n>', 'syslog TLS listener (off unless set; needs syslog.tlsCert/tlsKey)');

const clientFlags = (cmd: Command) =>
  cmd
    .option('--url <url>', 'server URL (default http://127.0.0.1:5080; MOLESIGNAL_URL)')
    .option('--org <name>', 'org (default "default"; MOLESIGNAL_ORG)')
    .option('--user <name>', 'user for Basic auth (MOLESIGNAL_USER)')
    .option('--password <pw>', 'password (MOLESIGNAL_PASSWORD)')
    .option('--token <key>', 'API key (MOLESIGNAL_TOKEN)');

const program = new Command('molesignal')
  .description('MoleSignal: logs, metrics and traces in Parquet, queried with SQL')
  .version(pkg.version, '-V, --version')
  .showHelpAfterError();

serverFlags(
  program.command('start').description('start the server (standalone: everything in one process)'),
).action(async (flags: StartFlags) => {
  const config = configFrom(flags);
  const log = createLogger(config.log.level);
  const { startServer } = await import('../main.ts');
  const server = await startServer(config, log);
  if (server.generatedRootPassword) {
    console.log(
      `\nCreated root user "${config.auth.rootUser}" with password: ${server.generatedRootPassword}\n` +
        'It is shown only this once. Set MOLESIGNAL_ROOT_PASSWORD before the first start to choose it.\n',
    );
  }
  // Printed before the HTTP line, which test/harness.ts waits for.
  console.log(`gRPC (OTLP, Jaeger) listening on ${config.http.host}:${server.grpcPort}`);
  for (const [protocol, port] of Object.entries(server.udpPorts))
    console.log(`Jaeger agent UDP (${protocol} Thrift) listening on ${config.http.host}:${port}`);
  console.log(
    `MoleSignal ${pkg.version} listening on http://${config.http.host}:${server.httpPort} (data in ${config.dataDir})`,
  );
  const stop = (signal: string) => {
    void server.shutdown(signal).then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
});

serverFlags(program.command('config').description('print the effective configuration (secrets masked)'))
  .addOption(new Option('--format <f>', 'output format').choices(['yaml', 'json']).default('yaml'))
  .action((flags: StartFlags & { format: string }) => {
    const masked = maskedConfig(configFrom(flags));
    console.log(flags.format === 'json' ? JSON.stringify(masked, null, 2) : toYaml(masked).trimEnd());
  });

program
  .command('migrate')
  .description(
    'copy the SQLite catalog of the data dir into an empty PostgreSQL database (stop the server first)',
  )
  .option('--config <file>', 'YAML config file (also MOLESIGNAL_CONFIG)')
  .option('--data-dir <dir>', 'data directory (default ./data; MOLESIGNAL_DATA_DIR)')
  .option('--postgres-url <url>', 'target database (default catalog.postgresUrl, else the PG* environment)')
  .option('--sqlite <file>', 'source catalog (default <dataDir>/catalog.sqlite)')
  .option('--force', 'replace the contents of a target database that is not empty')
  .action(async (flags: StartFlags & { postgresUrl?: string; sqlite?: string; force?: boolean }) => {
    const config = configFrom(flags);
    const { migrateSqliteToPostgres } = await import('./migrate.ts');
    const { sqliteCatalogPath } = await import('../catalog/open.ts');
    const r = await migrateSqliteToPostgres({
      sqlitePath: flags.sqlite ?? sqliteCatalogPath(config.dataDir),
      postgresUrl: config.catalog.postgresUrl,
      force: flags.force === true,
      say: (line) => console.log(line),
    });
    const rows = r.tables.reduce((n, t) => n + t.rows, 0);
    console.log(
      `\nDone: ${r.tables.length} tables, ${rows} rows copied into ${r.target}; row counts verified.\n` +
        'Next:\n' +
        '  1. set catalog.backend: postgres and catalog.postgresUrl in the config\n' +
        '     (or MOLESIGNAL_CATALOG_BACKEND=postgres and MOLESIGNAL_CATALOG_POSTGRES_URL);\n' +
        `  2. start the server with the same data dir (${config.dataDir}): the WAL and the Parquet files stay there;\n` +
        '  3. once it runs on PostgreSQL, keep the SQLite file as a backup or remove it: it is no longer read.',
    );
  });

program
  .command('version')
  .description('print the version')
  .action(() => console.log(pkg.version));

clientFlags(
  program
    .command('query')
    .description('run a SQL query against a running server')
    .argument('<sql>', 'SELECT over your streams, e.g. "SELECT * FROM logs.default LIMIT 10"'),
)
  .addOption(new Option('--format <f>', 'output format').choices(['table', 'json', 'csv']).default('table'))
  .option('--start <time>', 'start of the time range (RFC 3339 or Unix ns)')
  .option('--end <time>', 'end of the time range (RFC 3339 or Unix ns)')
  .option('--size <n>', 'maximum rows', '1000')
  .action(
    async (
      sql: string,
      flags: ClientOptions & { format: string; start?: string; end?: string; size: string },
    ) => {
      const c = clientFrom(flags);
      const body = { sql, start_time: flags.start, end_time: flags.end, size: Number(flags.size) };
      const path = `/api/${encodeURIComponent(c.org)}/_search${flags.format === 'csv' ? '?format=csv' : ''}`;
      if (flags.format === 'csv') {
        process.stdout.write(await (await c.call('POST', path, body)).text());
        return;
      }
      const r = await c.json<{
        hits: Record<string, unknown>[];
        columns: { name: string }[];
        total: number;
        took: number;
      }>('POST', path, body);
      if (flags.format === 'json') console.log(JSON.stringify(r, null, 2));
      else {
        const cols = r.columns.map((x) => x.name);
        console.log(
          renderTable(
            cols,
            r.hits.map((h) => cols.map((n) => h[n])),
          ),
        );
        console.log(`(${r.hits.length} of ${r.total} rows, ${r.took} ms)`);
      }
    },
  );

const org = program.command('org').description('manage orgs (root user only)');
clientFlags(org.command('list').description('list orgs')).action(async (flags: ClientOptions) => {
  const r = await clientFrom(flags).json<{ orgs: { name: string; id: string }[] }>('GET', '/api/_admin/orgs');
  console.log(
    renderTable(
      ['name', 'id'],
      r.orgs.map((o) => [o.name, o.id]),
    ),
  );
});
clientFlags(org.command('create').description('create an org').argument('<name>')).action(
  async (name: string, flags: ClientOptions) => {
    const r = await clientFrom(flags).json<{ name: string; id: string }>('POST', '/api/_admin/orgs', {
      name,
    });
    console.log(`created org ${r.name} (${r.id})`);
  },
);

const user = program.command('user').description("manage an org's users");
clientFlags(user.command('list').description('list the users of --org')).action(
  async (flags: ClientOptions) => {
    const c = clientFrom(flags);
    const r = await c.json<{ users: { name: string; role: string }[] }>(
      'GET',
      `/api/${encodeURIComponent(c.org)}/_users`,
    );
    console.log(
      renderTable(
        ['name', 'role'],
        r.users.map((u) => [u.name, u.role]),
      ),
    );
  },
);
clientFlags(
  user
    .command('add')
    .description('create a user (or add an existing one) to --org with a role')
    .argument('<name>'),
)
  .addOption(
    new Option('--role <role>', 'role in the org')
      .choices(['admin', 'editor', 'viewer'])
      .makeOptionMandatory(),
  )
  .option('--new-password <pw>', "the new user's password (generated and shown once if omitted)")
  .action(async (name: string, flags: ClientOptions & { role: string; newPassword?: string }) => {
    const c = clientFrom(flags);
    const r = await c.json<{ password?: string }>('POST', `/api/${encodeURIComponent(c.org)}/_users`, {
      name,
      role: flags.role,
      ...(flags.newPassword ? { password: flags.newPassword } : {}),
    });
    console.log(
      `${name} is ${flags.role} of ${c.org}${r.password ? `; generated password (shown once): ${r.password}` : ''}`,
    );
  });

const key = program.command('key').description("manage an org's API keys");
clientFlags(key.command('list').description('list the API keys of --org')).action(
  async (flags: ClientOptions) => {
    const c = clientFrom(flags);
    const r = await c.json<{ keys: { id: string; name: string; scopes: string[]; revoked: boolean }[] }>(
      'GET',
      `/api/${encodeURIComponent(c.org)}/_keys`,
    );
    console.log(
      renderTable(
        ['id', 'name', 'scopes', 'revoked'],
        r.keys.map((k) => [k.id, k.name, k.scopes.join(','), k.revoked]),
      ),
    );
  },
);
clientFlags(key.command('create').description('create an API key bound to --org (shown once)'))
  .requiredOption('--scopes <list>', 'comma-separated: ingest, query, admin')
  .option('--name <name>', 'a label for the key', '')
  .action(async (flags: ClientOptions & { scopes: string; name: string }) => {
    const c = clientFrom(flags);
    const r = await c.json<{ id: string; key: string }>('POST', `/api/${encodeURIComponent(c.org)}/_keys`, {
      name: flags.name,
      scopes: flags.scopes.split(',').map((s) => s.trim()),
    });
    console.log(`key ${r.id} (shown once, store it now):\n${r.key}`);
  });
clientFlags(key.command('revoke').description('revoke an API key').argument('<id>')).action(
  async (id: string, flags: ClientOptions) => {
    const c = clientFrom(flags);
    await c.call('DELETE', `/api/${encodeURIComponent(c.org)}/_keys/${encodeURIComponent(id)}`);
    console.log(`revoked key ${id}`);
  },
);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(isMoleError(e) || e instanceof Error ? `molesignal: ${e.message}` : e);
  process.exit(1);
}
