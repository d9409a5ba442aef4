/**
 * The `molesignal` CLI against a real server: version, help, config (masked), query in three
 * formats, org/user/key administration; and a bad config that stops start-up with a message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ROOT_DIR,
  ROOT_PASSWORD,
  ROOT_USER,
  otlpJsonLogs,
  startServer,
  tempDir,
  type ServerProcess,
} from './harness.ts';

const run = promisify(execFile);
const BIN = join(ROOT_DIR, 'bin', 'molesignal.js');

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('molesignal CLI', () => {
  let server: ServerProcess;
  let auth: string[];
  before(async () => {
    server = await startServer();
    auth = ['--url', server.url, '--user', ROOT_USER, '--password', ROOT_PASSWORD];
    const res = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'cli' },
      body: JSON.stringify(otlpJsonLogs([{ id: 'c1', body: 'hello, cli' }])),
    });
    assert.equal(res.status, 200);
  });
  after(async () => {
    await server.stop();
  });

  test('version and help', async () => {
    const v = await cli(['version']);
    assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
    for (const cmd of [
      [],
      ['start'],
      ['query'],
      ['config'],
      ['migrate'],
      ['org'],
      ['user'],
      ['key'],
      ['key', 'create'],
    ]) {
      const h = await cli([...cmd, '--help']);
      assert.equal(h.code, 0, cmd.join(' '));
      assert.match(h.stdout, /Usage: molesignal/);
    }
  });

  test('config prints the effective config with secrets masked', async () => {
    const r = await cli(['config', '--format', 'json', '--http-port', '6001'], {
      MOLESIGNAL_ROOT_PASSWORD: 'hunter22',
      MOLESIGNAL_WAL_FSYNC: 'interval',
    });
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.equal(c.http.port, 6001);
    assert.equal(c.wal.fsync, 'interval');
    assert.equal(c.auth.rootPassword, '********');
    assert.ok(!r.stdout.includes('hunter22'));
    const pg = await cli(['config', '--format', 'json'], {
      MOLESIGNAL_CATALOG_BACKEND: 'postgres',
      MOLESIGNAL_CATALOG_POSTGRES_URL: 'postgres://molesignal:pg-hunter22@db.internal:5433/catalog',
    });
    assert.equal(pg.code, 0, pg.stderr);
    assert.deepEqual(JSON.parse(pg.stdout).catalog, {
      backend: 'postgres',
      postgresUrl: 'postgres://molesignal:********@db.internal:5433/catalog',
    });
    assert.ok(!pg.stdout.includes('pg-hunter22'));
  });

  test('a bad config stops start-up with a message naming every problem', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'wal:\n  fsync: sometimes\nhttp:\n  prot: 1\n');
    const r = await cli(['start', '--config', file, '--data-dir', dir], { MOLESIGNAL_HTTP_PORT: 'abc' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /wal\.fsync/);
    assert.match(r.stderr, /http\.prot/);
    assert.match(r.stderr, /MOLESIGNAL_HTTP_PORT/);
  });

  test('query: table, json and csv output', async () => {
    const sql = `SELECT "attr.rid" AS rid, body FROM logs.cli`;
    const table = await cli(['query', sql, ...auth]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /rid +\| body/);
    assert.match(table.stdout, /c1 +\| hello, cli/);
    const json = await cli(['query', sql, '--format', 'json', ...auth]);
    assert.deepEqual(JSON.parse(json.stdout).hits, [{ rid: 'c1', body: 'hello, cli' }]);
    const csv = await cli(['query', sql, '--format', 'csv', ...auth]);
    assert.equal(csv.stdout, 'rid,body\nc1,"hello, cli"\n');
    const bad = await cli(['query', "SELECT * FROM read_text('/etc/passwd')", ...auth]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /HTTP 40[03]/);
  });

  test('query without a reachable server says what to do', async () => {
    const r = await cli(['query', 'SELECT 1', '--url', 'http://127.0.0.1:1', '--password', 'x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Is the server running/);
  });

  test('org, user and key administration', async () => {
    assert.equal((await cli(['org', 'create', 'team-a', ...auth])).code, 0);
    const orgs = await cli(['org', 'list', ...auth]);
    assert.match(orgs.stdout, /team-a/);
    assert.match(orgs.stdout, /default/);
    const reserved = await cli(['org', 'create', 'prometheus', ...auth]);
    assert.match(reserved.stderr, /reserved/);

    const added = await cli([
      'user',
      'add',
      'ann@example.com',
      '--role',
      'viewer',
      '--new-password',
      'ann-password-1',
      '--org',
      'team-a',
      ...auth,
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(
      (await cli(['user', 'list', '--org', 'team-a', ...auth])).stdout,
      /ann@example.com +\| viewer/,
    );

    const created = await cli([
      'key',
      'create',
      '--scopes',
      'ingest',
      '--name',
      'agent',
      '--org',
      'team-a',
      ...auth,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const token = /(ms_[0-9a-f]{12}_[A-Za-z0-9_-]{32})/.exec(created.stdout)![1]!;
    const id = /key ([0-9a-f]{12})/.exec(created.stdout)![1]!;
    // the ingest key writes to team-a by default and cannot read
    const w = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpJsonLogs([{ id: 'k' }])),
      auth: `Bearer ${token}`,
    });
    assert.equal(w.status, 200);
    const q = await cli([
      'query',
      'SELECT count(*) FROM logs.default',
      '--url',
      server.url,
      '--token',
      token,
      '--org',
      'team-a',
    ]);
    assert.match(q.stderr, /HTTP 403/);
    // the viewer reads team-a's data but cannot write
    const viewer = [
      '--url',
      server.url,
      '--user',
      'ann@example.com',
      '--password',
      'ann-password-1',
      '--org',
      'team-a',
    ];
    const rows = await cli([
      'query',
      'SELECT count(*) AS n FROM logs.default',
      '--format',
      'json',
      ...viewer,
    ]);
    assert.equal(JSON.parse(rows.stdout).hits[0].n, 1);
    const keysList = await cli(['key', 'list', '--org', 'team-a', ...auth]);
    assert.match(keysList.stdout, new RegExp(`${id} +\\| agent +\\| ingest +\\| false`));
    assert.ok(!keysList.stdout.includes(token), 'a key is shown only once');
    assert.equal((await cli(['key', 'revoke', id, '--org', 'team-a', ...auth])).code, 0);
    const after = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      auth: `Bearer ${token}`,
    });
    assert.equal(after.status, 401);
  });
});
