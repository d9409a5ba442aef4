/**
 * The catalog contract: the same cases against SQLite and a real PostgreSQL (test/kits/postgres.ts,
 * one server for the file, a fresh database per case, created with a natural-language ICU
 * collation so that byte-wise ordering is really tested). Every interface method, the flush
 * commit's atomicity, bigint round trips, the order of list results, migrations that are
 * idempotent and safe when two migrators start at once.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Catalog, FileRow, StreamFieldRow } from '../src/catalog/catalog.ts';
import { MIGRATIONS } from '../src/catalog/migrations.ts';
import { PostgresCatalog } from '../src/catalog/postgres.ts';
import { SqliteCatalog } from '../src/catalog/sqlite.ts';
import { asOrgId } from '../src/tenancy/org-id.ts';
import { ROOT_DIR, removeDir, tempDir } from './harness.ts';
import { postgresForFile } from './kits/postgres.ts';

const run = promisify(execFile);

const PG = postgresForFile();
const dirs: string[] = [];
let databases = 0;
after(async () => {
  for (const d of dirs) await removeDir(d);
});

interface Backend {
  name: 'sqlite' | 'postgres';
  /** a fresh, empty catalog location */
  location(): Promise<string>;
  open(location: string): Promise<Catalog>;
  /** version → count of rows in schema_migrations */
  migrationRows(location: string): Promise<Map<number, number>>;
}

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async location() {
      const dir = await tempDir('molesignal-catalog-');
      dirs.push(dir);
      return join(dir, 'catalog.sqlite');
    },
    async open(path) {
      return new SqliteCatalog(path);
    },
    async migrationRows(path) {
      const db = new Database(path, { readonly: true });
      try {
        const rows = db
          .prepare('SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version')
          .all() as {
          version: number;
          n: number;
        }[];
        return new Map(rows.map((r) => [r.version, r.n]));
      } finally {
        db.close();
      }
    },
  },
  {
    name: 'postgres',
    async location() {
      return PG.server!.createDatabase(`contract_${++databases}`, { icuLocale: 'en-US' });
    },
    async open(url) {
      return PostgresCatalog.open(url);
    },
    async migrationRows(url) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          'SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version',
        );
        return new Map(rows.map((r: { version: number; n: string }) => [Number(r.version), Number(r.n)]));
      } finally {
        await client.end();
      }
    },
  },
];

const ORG = asOrgId('o00000000000000a1');
const ORG2 = asOrgId('o00000000000000b2');
const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

const file = (key: string, minTs: bigint, maxTs: bigint, extra: Partial<FileRow> = {}): FileRow => ({
  id: key,
  org: ORG,
  type: 'logs',
  stream: 's',
  key,
  minTs,
  maxTs,
  rows: 3,
  bytes: 4096,
  columnStats: { 'attr.n': ['1', '5'], body: [null, 'z'] },
  createdAtMs: 1_700_000_000_123,
  ...extra,
});
const field = (key: string, position: number): StreamFieldRow => ({
  column: key,
  key,
  valueType: 'str',
  sqlType: 'VARCHAR',
  placement: 'column',
  position,
});
const settings = { retentionDays: 7, maxFields: 100 };

/** Byte-wise (SQLite BINARY) order; an ICU en-US collation puts these differently. */
const NAMES = ['b', 'B', 'a_c', 'ab', 'a-b', 'a', 'Zeta', 'é', 'e'];
const bytewise = (names: string[]) =>
  [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
const BYTEWISE = bytewise(NAMES);

async function withOrgs(c: Catalog): Promise<void> {
  await c.createOrg(ORG, 'org-a');
  await c.createOrg(ORG2, 'org-b');
}

for (const backend of BACKENDS) {
  describe(`catalog contract: ${backend.name}`, () => {
    const it = (name: string, fn: (c: Catalog, location: string) => Promise<void>): void =>
      void test(name, async (t) => {
        if (backend.name === 'postgres' && !PG.server) return t.skip(PG.skip);
        const location = await backend.location();
        const c = await backend.open(location);
        try {
          await fn(c, location);
        } finally {
          await c.close();
        }
      });

    it('orgs: create, get by id and name, list in byte-wise name order', async (c) => {
      const created = await c.createOrg(ORG, 'org-a');
      assert.equal(typeof created.createdAtMs, 'number');
      assert.deepEqual(await c.getOrg(ORG), created);
      assert.deepEqual(await c.getOrgByName('org-a'), created);
      assert.equal(await c.getOrgByName('nope'), undefined);
      assert.equal(await c.getOrg(asOrgId('o0000000000000000')), undefined);
      await assert.rejects(c.createOrg(ORG2, 'org-a')); // unique name
      for (const [i, name] of NAMES.entries())
        await c.createOrg(asOrgId(`o${String(i).padStart(16, '0')}`), name);
      assert.deepEqual(
        (await c.listOrgs()).map((o) => o.name),
        bytewise([...NAMES, 'org-a']),
      );
    });

    it('users and memberships: roles upserted, members in byte-wise user-name order', async (c) => {
      await withOrgs(c);
      const root = await c.createUser({
        id: 'u-root',
        name: 'root@example.com',
        passwordHash: 'h1',
        isRoot: true,
      });
      assert.deepEqual(await c.getUser('u-root'), root);
      assert.deepEqual(await c.getUserByName('root@example.com'), root);
      assert.equal(root.isRoot, true);
      assert.equal(typeof root.createdAtMs, 'number');
      assert.equal(await c.getUser('nobody'), undefined);
      for (const [i, name] of NAMES.entries()) {
        await c.createUser({ id: `u${i}`, name, passwordHash: 'h', isRoot: false });
        await c.setMembership(ORG, `u${i}`, 'viewer');
      }
      assert.equal((await c.getUserByName('B'))!.isRoot, false);
      await c.setMembership(ORG, 'u0', 'admin');
      await c.setMembership(ORG2, 'u0', 'editor');
      const members = await c.listMembers(ORG);
      assert.deepEqual(
        members.map((m) => m.userName),
        BYTEWISE,
      );
      assert.deepEqual(
        members.find((m) => m.userId === 'u0'),
        { userId: 'u0', userName: 'b', org: ORG, role: 'admin' },
      );
      assert.deepEqual(await c.membershipsOf('u0'), [
        { userId: 'u0', userName: 'b', org: ORG, role: 'admin' },
        { userId: 'u0', userName: 'b', org: ORG2, role: 'editor' },
      ]);
      assert.deepEqual(await c.membershipsOf('u-root'), []);
      await assert.rejects(c.setMembership(ORG, 'no-such-user', 'viewer')); // foreign key
    });

    it('API keys: create, get, list by creation, revoke once', async (c) => {
      await withOrgs(c);
      const k1 = await c.createApiKey(ORG, {
        id: 'k1',
        name: 'first',
        keyHash: 'aa',
        scopes: ['ingest', 'query'],
      });
      await new Promise((r) => setTimeout(r, 5)); // distinct created_at_ms
      const k2 = await c.createApiKey(ORG, { id: 'k2', name: '', keyHash: 'bb', scopes: ['admin'] });
      await c.createApiKey(ORG2, { id: 'k3', name: 'other', keyHash: 'cc', scopes: [] });
      assert.deepEqual(await c.getApiKey('k1'), k1);
      assert.equal(k1.revokedAtMs, null);
      assert.deepEqual(await c.listApiKeys(ORG), [k1, k2]);
      assert.equal(await c.revokeApiKey(ORG2, 'k1'), false); // another org's key
      assert.equal(await c.revokeApiKey(ORG, 'k1'), true);
      assert.equal(await c.revokeApiKey(ORG, 'k1'), false);
      const revoked = await c.getApiKey('k1');
      assert.equal(typeof revoked!.revokedAtMs, 'number');
      assert.ok(revoked!.revokedAtMs! >= k1.createdAtMs);
      assert.equal(await c.getApiKey('nope'), undefined);
    });

    it('streams: upsert keeps the first row, settings update, lists in (org, type, name) order', async (c) => {
      await withOrgs(c);
      const s = await c.upsertStream(ORG, 'logs', 'web', settings);
      assert.deepEqual(s, {
        org: ORG,
        type: 'logs',
        name: 'web',
        settings,
        flushedSeq: 0,
        createdAtMs: s.createdAtMs,
      });
      assert.deepEqual(await c.upsertStream(ORG, 'logs', 'web', { retentionDays: 1, maxFields: 1 }), s);
      for (const name of NAMES) await c.upsertStream(ORG, 'traces', name, settings);
      await c.upsertStream(ORG2, 'logs', 'web', settings);
      await c.upsertStream(ORG, 'metrics', 'm', settings);
      const all = await c.listStreams(null);
      assert.deepEqual(
        all.map((r) => `${r.org}/${r.type}/${r.name}`),
        [
          `${ORG}/logs/web`,
          `${ORG}/metrics/m`,
          ...BYTEWISE.map((n) => `${ORG}/traces/${n}`),
          `${ORG2}/logs/web`,
        ],
      );
      assert.deepEqual(
        (await c.listStreams(ORG2)).map((r) => r.name),
        ['web'],
      );
      await c.updateStreamSettings(ORG, 'logs', 'web', { retentionDays: 30, maxFields: 5 });
      assert.deepEqual((await c.listStreams(ORG))[0]!.settings, { retentionDays: 30, maxFields: 5 });
    });

    it('stream fields: added once, listed by position', async (c) => {
      await withOrgs(c);
      await c.upsertStream(ORG, 'logs', 's', settings);
      await c.addStreamFields(ORG, 'logs', 's', [field('attr.b', 1), field('attr.a', 0)]);
      await c.addStreamFields(ORG, 'logs', 's', [field('attr.a', 0), field('attr.c', 2)]); // a again: kept once
      await c.addStreamFields(ORG, 'logs', 's', []);
      const listed = await c.listStreamFields(ORG, 'logs', 's');
      assert.deepEqual(listed, [field('attr.a', 0), field('attr.b', 1), field('attr.c', 2)]);
      assert.equal(typeof listed[0]!.position, 'number');
      assert.deepEqual(await c.listStreamFields(ORG, 'traces', 's'), []);
    });

    it('commitFlush: files visible with exact bigint times, flushed seq only raised, keys kept', async (c) => {
      await withOrgs(c);
      await c.upsertStream(ORG, 'logs', 's', settings);
      await c.upsertStream(ORG, 'logs', 'empty', settings);
      const now = Date.now();
      const big = 2n ** 53n + 1n; // not representable as a double
      const files = [
        file('k/3', big, big + 10n),
        file('k/1', MIN, MIN + 1n, { rows: 2 ** 40, bytes: 2 ** 41 }),
        file('k/2', 1_700_000_000_000_000_000n, 1_700_000_003_600_000_000n),
        file('k/4', MAX - 1n, MAX),
      ];
      await c.commitFlush(ORG, 'logs', 's', files, 42, [
        { org: ORG, key: 'idem-1', expiresAtMs: now + 60_000, response: '{"accepted":1}' },
        { org: ORG, key: 'idem-old', expiresAtMs: now - 1, response: '{}' },
      ]);
      const listed = await c.listFiles(ORG, 'logs', 's', null, null);
      assert.deepEqual(
        listed.map((f) => f.key),
        ['k/1', 'k/3', 'k/2', 'k/4'],
      );
      assert.deepEqual(listed[0], files[1]);
      assert.deepEqual(listed[1], files[0]);
      assert.equal(typeof listed[0]!.minTs, 'bigint');
      assert.equal(typeof listed[0]!.rows, 'number');
      assert.equal(listed[0]!.rows, 2 ** 40);
      assert.equal(listed[3]!.maxTs, MAX);
      // inclusive overlap of [minTs, maxTs]
      assert.deepEqual(
        (await c.listFiles(ORG, 'logs', 's', big + 10n, big + 10n)).map((f) => f.key),
        ['k/3'],
      );
      assert.deepEqual(
        (await c.listFiles(ORG, 'logs', 's', null, MIN)).map((f) => f.key),
        ['k/1'],
      );
      assert.deepEqual(
        (await c.listFiles(ORG, 'logs', 's', 1_700_000_003_600_000_000n, null)).map((f) => f.key),
        ['k/2', 'k/4'],
      );
      assert.deepEqual(await c.listFiles(ORG, 'logs', 's', 5n, 6n), []);
      assert.deepEqual(await c.listFiles(ORG2, 'logs', 's', null, null), []);
      assert.deepEqual(await c.listAllFileKeys(), new Set(['k/1', 'k/2', 'k/3', 'k/4']));

      const seq = async () => (await c.listStreams(ORG)).find((s) => s.name === 's')!.flushedSeq;
      assert.equal(await seq(), 42);
      await c.commitFlush(ORG, 'logs', 's', [], 7, []); // lower: kept at 42
      assert.equal(await seq(), 42);
      await c.commitFlush(ORG, 'logs', 's', [], 2 ** 40, [
        { org: ORG, key: 'idem-1', expiresAtMs: now + 120_000, response: '{"ignored":true}' },
      ]);
      assert.equal(await seq(), 2 ** 40);

      const keys = await c.loadIdempotencyKeys(now);
      assert.deepEqual(keys, [
        { org: ORG, key: 'idem-1', expiresAtMs: now + 120_000, response: '{"accepted":1}' },
      ]);
      assert.deepEqual(await c.loadIdempotencyKeys(now + 200_000), []);

      const stats = await c.streamStats(ORG);
      assert.deepEqual(stats, [
        { type: 'logs', name: 'empty', files: 0, rows: 0, bytes: 0, minTs: null, maxTs: null },
        {
          type: 'logs',
          name: 's',
          files: 4,
          rows: 2 ** 40 + 9,
          bytes: 2 ** 41 + 3 * 4096,
          minTs: MIN,
          maxTs: MAX,
        },
      ]);
      assert.deepEqual(await c.streamStats(ORG2), []);
    });

    it('commitFlush is one transaction: a failing file leaves no file, no seq, no key', async (c) => {
      await withOrgs(c);
      await c.upsertStream(ORG, 'logs', 's', settings);
      await c.commitFlush(ORG, 'logs', 's', [file('dup', 1n, 2n)], 5, []);
      const now = Date.now();
      await assert.rejects(
        c.commitFlush(ORG, 'logs', 's', [file('new-1', 3n, 4n), file('dup', 5n, 6n, { id: 'other-id' })], 9, [
          { org: ORG, key: 'idem-x', expiresAtMs: now + 60_000, response: '{}' },
        ]),
      );
      assert.deepEqual(
        (await c.listFiles(ORG, 'logs', 's', null, null)).map((f) => f.key),
        ['dup'],
      );
      assert.equal((await c.listStreams(ORG))[0]!.flushedSeq, 5);
      assert.deepEqual(await c.loadIdempotencyKeys(now), []);
      // and the catalog still works afterwards (the connection was not left in a failed transaction)
      await c.commitFlush(ORG, 'logs', 's', [file('new-1', 3n, 4n)], 9, []);
      assert.equal((await c.listStreams(ORG))[0]!.flushedSeq, 9);
    });

    it('replaceFiles swaps atomically; a lost race changes nothing; pending deletes; org settings', async (c) => {
      await withOrgs(c);
      await c.upsertStream(ORG, 'logs', 's', settings);
      await c.commitFlush(ORG, 'logs', 's', [file('a', 1n, 2n), file('b', 3n, 4n)], 1, []);
      const keys = async () => (await c.listFiles(ORG, 'logs', 's', null, null)).map((f) => f.key);
      const pending = [
        { key: 'b', org: ORG, dueAtMs: 20 },
        { key: 'a', org: ORG, dueAtMs: 20 },
        { key: 'z', org: ORG2, dueAtMs: 10 },
      ];
      assert.equal(await c.replaceFiles(ORG, 'logs', 's', ['a', 'b'], [file('c', 1n, 4n)], pending), true);
      assert.deepEqual(await keys(), ['c']);
      assert.deepEqual(await c.listPendingDeletes(15), [{ key: 'z', org: ORG2, dueAtMs: 10 }]);
      assert.deepEqual(
        (await c.listPendingDeletes(null)).map((p) => p.key),
        ['z', 'a', 'b'],
      );
      assert.equal(typeof (await c.listPendingDeletes(null))[0]!.dueAtMs, 'number');
      // one of the old keys is gone: nothing changes, not even the pending deletes
      assert.equal(
        await c.replaceFiles(
          ORG,
          'logs',
          's',
          ['c', 'a'],
          [file('d', 1n, 4n)],
          [{ key: 'c', org: ORG, dueAtMs: 1 }],
        ),
        false,
      );
      assert.deepEqual(await keys(), ['c']);
      assert.equal((await c.listPendingDeletes(null)).length, 3);
      // two swaps of the same file at once: exactly one wins
      const results = await Promise.all([
        c.replaceFiles(ORG, 'logs', 's', ['c'], [file('e1', 1n, 4n)], []),
        c.replaceFiles(ORG, 'logs', 's', ['c'], [file('e2', 1n, 4n)], []),
      ]);
      assert.deepEqual(
        results.filter((r) => r),
        [true],
      );
      assert.equal((await keys()).length, 1);
      // a pending delete recorded again moves its due time
      assert.equal(
        await c.replaceFiles(ORG, 'logs', 's', [], [], [{ key: 'z', org: ORG2, dueAtMs: 30 }]),
        true,
      );
      assert.deepEqual(
        (await c.listPendingDeletes(null)).map((p) => `${p.key}@${p.dueAtMs}`),
        ['a@20', 'b@20', 'z@30'],
      );
      await c.removePendingDeletes(['a', 'b', 'not-there']);
      await c.removePendingDeletes([]);
      assert.deepEqual(
        (await c.listPendingDeletes(null)).map((p) => p.key),
        ['z'],
      );

      assert.deepEqual(await c.getOrgSettings(ORG), { defaultRetentionDays: null });
      await c.setOrgSettings(ORG, { defaultRetentionDays: 7 });
      await c.setOrgSettings(ORG, { defaultRetentionDays: 14 });
      assert.deepEqual(await c.getOrgSettings(ORG), { defaultRetentionDays: 14 });
      assert.deepEqual(await c.getOrgSettings(ORG2), { defaultRetentionDays: null });
    });

    it('series and metric metadata: first id wins, many at once, ordered lists', async (c) => {
      await withOrgs(c);
      const labels = (i: number): [string, string][] => [
        ['__name__', 'up'],
        ['instance', `host-${i}`],
      ];
      const many = Array.from({ length: 2500 }, (_, i) => ({
        org: ORG,
        id: 2500 - i,
        metricName: 'up',
        labels: labels(2500 - i),
      }));
      await c.addSeries(many);
      await c.addSeries([
        { org: ORG, id: 1, metricName: 'changed', labels: [] }, // id taken: kept as first written
        { org: ORG2, id: 1, metricName: 'other', labels: [['__name__', 'other']] },
        { org: ORG2, id: 1, metricName: 'dup-in-one-call', labels: [] },
      ]);
      await c.addSeries([]);
      const mine = await c.listSeries(ORG);
      assert.equal(mine.length, 2500);
      assert.deepEqual(mine[0], { org: ORG, id: 1, metricName: 'up', labels: labels(1) });
      assert.deepEqual(
        mine.map((s) => s.id),
        Array.from({ length: 2500 }, (_, i) => i + 1),
      );
      const all = await c.listSeries(null);
      assert.equal(all.length, 2501);
      assert.deepEqual(all[2500], { org: ORG2, id: 1, metricName: 'other', labels: [['__name__', 'other']] });

      await c.upsertMetricMetadata(ORG, [
        { metricFamily: 'up', type: 'gauge', help: 'first', unit: '' },
        { metricFamily: 'a_total', type: 'counter', help: 'requests', unit: 'requests' },
        { metricFamily: 'up', type: 'gauge', help: 'second', unit: 'u' }, // same family twice: the last wins
      ]);
      await c.upsertMetricMetadata(ORG, []);
      assert.deepEqual(await c.listMetricMetadata(ORG), [
        { metricFamily: 'a_total', type: 'counter', help: 'requests', unit: 'requests' },
        { metricFamily: 'up', type: 'gauge', help: 'second', unit: 'u' },
      ]);
      assert.deepEqual(await c.listMetricMetadata(ORG2), []);
    });

    it('migrations: opening again applies nothing again and keeps the data', async (c, location) => {
      await withOrgs(c);
      const again = await backend.open(location);
      try {
        assert.equal((await again.listOrgs()).length, 2);
      } finally {
        await again.close();
      }
      assert.deepEqual(
        [...(await backend.migrationRows(location)).entries()].sort((a, b) => a[0] - b[0]),
        MIGRATIONS.map((m) => [m.version, 1]),
      );
    });

    test('migrations: two migrators starting at once on an empty catalog apply each one once', async (t) => {
      if (backend.name === 'postgres' && !PG.server) return t.skip(PG.skip);
      const location = await backend.location();
      if (backend.name === 'postgres') {
        const opened = await Promise.all([1, 2, 3, 4].map(() => backend.open(location)));
        await Promise.all(opened.map((c) => c.close()));
      } else {
        // SQLite opens synchronously: two processes race instead
        const script = join(location, '..', 'open.mts');
        await writeFile(
          script,
          `import { SqliteCatalog } from ${JSON.stringify(pathToFileURL(join(ROOT_DIR, 'src/catalog/sqlite.ts')).href)};\n` +
            `await new SqliteCatalog(${JSON.stringify(location)}).close();\n`,
        );
        await Promise.all(
          [1, 2, 3].map(() => run(process.execPath, ['--import', 'tsx', script], { cwd: ROOT_DIR })),
        );
      }
      const rows = await backend.migrationRows(location);
      assert.deepEqual(
        [...rows.entries()].sort((a, b) => a[0] - b[0]),
        MIGRATIONS.map((m) => [m.version, 1]),
      );
    });
  });
}

test('PostgreSQL sorts TEXT byte-wise regardless of the database collation', async (t) => {
  if (!PG.server) return t.skip(PG.skip);
  // the control: without the migrations' COLLATE "C", this database orders differently
  const url = await PG.server.createDatabase('collation_control', { icuLocale: 'en-US' });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE t (name TEXT)');
    for (const n of NAMES) await client.query('INSERT INTO t VALUES ($1)', [n]);
    const { rows } = await client.query('SELECT name FROM t ORDER BY name');
    assert.notDeepEqual(
      rows.map((r: { name: string }) => r.name),
      BYTEWISE,
    );
  } finally {
    await client.end();
  }
});
