/**
 * Done-when 6, RELIABILITY.md T1 and T5: tenant isolation of the SQL path and of ingest.
 *
 * Two orgs on one server, `alpha` (A, the attacker) and `beta` (B, the victim), each with logs and
 * traces streams; B's rows sit both in Parquet files (flushed) and in the memtable, and every one of
 * them carries B's marker. A host file outside the data dir carries a canary. A table of crafted SQL
 * payloads is sent with an org-A query key (not root: root reaches every org):
 *
 * - validator on (the default server): every attack gets 400/403 with a message that names the
 *   problem; the one allowed query over a stream name both orgs have returns only A's rows;
 * - validator off (test-only setting, raw SQL on A's sandboxed DuckDB): any status is fine, but no
 *   response holds a byte of B or of a host file, B's data is unchanged, and nothing was written
 *   outside A's directory. The sandbox alone must hold (DESIGN.md decision 8).
 *
 * No response of either mode may hold B's marker or fingerprints, the host canary, /etc/passwd
 * lines, the root password, or B's org id (unless the payload itself spelled it out: echoing the
 * attacker's own text back is not a disclosure); with the validator on, not the data dir either.
 *
 * The validator-off server runs with a 32 MiB DuckDB memory limit and a ~40 MiB memtable in B, so
 * that B's DuckDB spills. DuckDB allows its temp directory implicitly, and its default (`.tmp` in
 * the working directory) was shared by every org's instance: A read B's rows out of B's spill files
 * with `read_blob('<cwd>/.tmp/*')`. Each org now spills inside its own directory (org-engine.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ROOT_PASSWORD,
  otlpJsonLogs,
  removeDir,
  startServer,
  tempDir,
  type ServerProcess,
} from './harness.ts';

const DEBUG = process.env.ISOLATION_DEBUG === '1';
const A_MARK = `A-visible-${randomUUID()}`;
const B_MARK = `B-secret-${randomUUID()}`;
const CANARY = `HOST-CANARY-${randomUUID()}`;
const HOUR_NS = 3_600_000_000_000n;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;
/** B's rows get their own time range so that a leaked timestamp is recognisable too. */
const A_TS = NOW_NS - HOUR_NS;
const B_TS = NOW_NS - 2n * HOUR_NS + 123_456_789n;
/** The server is spawned with our working directory; DuckDB's default temp_directory is `.tmp`. */
const SERVER_CWD = process.cwd();
const HOSTNAME = (() => {
  try {
    return readFileSync('/etc/hostname', 'utf8').trim();
  } catch {
    return '';
  }
})();

interface World {
  server: ServerProcess;
  dataDir: string;
  aId: string;
  bId: string;
  aDir: string;
  bDir: string;
  /** `Bearer …` of an org-A key with scope query */
  aQuery: string;
  /** `Bearer …` of an org-A key with scope ingest */
  aIngest: string;
  aParquet: string[];
  bParquet: string[];
  canaryDir: string;
  canaryFile: string;
  /** strings that only B's rows contain: trace and span ids, timestamps */
  bFingerprints: string[];
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function otlpJsonSpans(
  spans: { name: string; traceId: string; spanId: string; attrs: Record<string, string> }[],
  tsNs: bigint,
) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'isolation' } }] },
        scopeSpans: [
          {
            scope: { name: 'isolation' },
            spans: spans.map((s, i) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              name: s.name,
              kind: 2,
              startTimeUnixNano: String(tsNs + BigInt(i)),
              endTimeUnixNano: String(tsNs + BigInt(i) + 1_000_000n),
              attributes: Object.entries(s.attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
            })),
          },
        ],
      },
    ],
  };
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

/** File names (and sizes of Parquet files, which never change once written). */
function snapshot(dir: string): string[] {
  return listFiles(dir).map((p) => (p.endsWith('.parquet') ? `${p} ${statSync(p).size}` : p));
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  assert.ok(res.ok, `${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function ingest(
  server: ServerProcess,
  org: string,
  kind: 'logs' | 'traces',
  stream: string,
  body: unknown,
): Promise<void> {
  const res = await server.fetch(`/api/${org}/v1/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stream-name': stream },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}

async function flush(server: ServerProcess, org: string, stream: string): Promise<void> {
  const r = await json<{ files: number }>(
    await server.fetch(`/api/${org}/streams/${stream}/_flush`, { method: 'POST' }),
  );
  assert.ok(r.files >= 1, `flush of ${org}/${stream} wrote no file`);
}

/** Rows per stream of an org, from the stream list (works with and without the validator). */
async function streamRows(server: ServerProcess, org: string): Promise<Record<string, number>> {
  const r = await json<{ list: { name: string; stream_type: string; stats: { rows: number } }[] }>(
    await server.fetch(`/api/${org}/streams`),
  );
  return Object.fromEntries(r.list.map((s) => [`${s.stream_type}/${s.name}`, s.stats.rows]));
}

/**
 * B's data as root sees it: row counts per stream, plus the rows carrying B's marker (through the
 * streams with the validator on; through B's own sandbox over B's Parquet files with it off).
 */
async function bState(w: World, validatorOn: boolean): Promise<unknown> {
  const like = `LIKE '${B_MARK}%'`;
  const sql = validatorOn
    ? `SELECT (SELECT count(*) FROM logs.app WHERE body ${like}) + (SELECT count(*) FROM logs.bsecret WHERE body ${like})` +
      ` + (SELECT count(*) FROM traces.app WHERE name ${like}) + (SELECT count(*) FROM traces.bspans WHERE name ${like}) AS c`
    : `SELECT count(*) AS c FROM read_parquet('${w.bDir}/**/*.parquet', union_by_name = true) WHERE coalesce(body, name) ${like}`;
  const marked = (await w.server.search(sql, { org: 'beta' })).hits[0]!.c;
  return { streams: await streamRows(w.server, 'beta'), marked };
}

/**
 * Orgs, keys, data: A and B both have logs `app` and traces `app`; B alone has logs `bsecret` and
 * traces `bspans`, A alone logs `alpha_only`. Every stream: one batch flushed, one in the memtable.
 * `bulkB` bytes of extra B log bodies go to B's memtable (to push B's DuckDB past its memory limit).
 */
async function buildWorld(server: ServerProcess, bulkB = 0): Promise<World> {
  for (const name of ['alpha', 'beta']) {
    const res = await server.fetch('/api/_admin/orgs', { method: 'POST', body: JSON.stringify({ name }) });
    assert.equal(res.status, 201, await res.text());
  }
  const orgs = (await json<{ orgs: { name: string; id: string }[] }>(await server.fetch('/api/_admin/orgs')))
    .orgs;
  const aId = orgs.find((o) => o.name === 'alpha')!.id;
  const bId = orgs.find((o) => o.name === 'beta')!.id;
  const key = async (scopes: string[]) =>
    'Bearer ' +
    (
      await json<{ key: string }>(
        await server.fetch('/api/alpha/_keys', { method: 'POST', body: JSON.stringify({ scopes }) }),
      )
    ).key;

  const bFingerprints: string[] = [];
  const seed = async (org: 'alpha' | 'beta', mark: string, baseTs: bigint, round: number) => {
    const logStreams = org === 'alpha' ? ['app', 'alpha_only'] : ['app', 'bsecret'];
    const spanStreams = org === 'alpha' ? ['app'] : ['app', 'bspans'];
    const ts = baseTs + BigInt(round) * 1000n;
    for (const s of logStreams) {
      const records = [0, 1, 2].map((i) => ({
        id: `${mark}-${s}-${round}-${i}`,
        body: `${mark} ${s} log ${round}/${i}`,
        attrs: { marker: mark, n: i },
      }));
      await ingest(server, org, 'logs', s, otlpJsonLogs(records, ts));
      if (org === 'beta') for (let i = 0; i < 3; i++) bFingerprints.push(String(ts + BigInt(i)));
    }
    for (const s of spanStreams) {
      const spans = [0, 1].map((i) => ({
        name: `${mark} ${s} span ${round}/${i}`,
        traceId: hex(16),
        spanId: hex(8),
        attrs: { marker: mark },
      }));
      await ingest(server, org, 'traces', s, otlpJsonSpans(spans, ts));
      if (org === 'beta') bFingerprints.push(...spans.flatMap((sp) => [sp.traceId, sp.spanId]));
    }
    return [...new Set([...logStreams, ...spanStreams])];
  };
  for (const [org, mark, ts] of [
    ['alpha', A_MARK, A_TS],
    ['beta', B_MARK, B_TS],
  ] as const) {
    const streams = await seed(org, mark, ts, 0);
    for (const s of streams) await flush(server, org, s);
    await seed(org, mark, ts, 1); // stays in the memtable
  }
  if (bulkB > 0) {
    const perRequest = 2500;
    const filler = 'x'.repeat(2000);
    for (let sent = 0, round = 0; sent < bulkB; round++) {
      const records = Array.from({ length: perRequest }, (_, i) => ({
        id: `${B_MARK}-bulk-${round}-${i}`,
        body: `${B_MARK} bulk ${round}/${i} ${filler}`,
      }));
      await ingest(
        server,
        'beta',
        'logs',
        'bsecret',
        otlpJsonLogs(records, B_TS + 1_000_000n * BigInt(round + 1)),
      );
      sent += perRequest * filler.length;
    }
    // appended rows reach DuckDB's table storage (and so its memory limit) when the appender
    // flushes, at most a second later: wait (bounded) for B's first spill file
    const spillDir = join(resolve(server.dataDir), 'objects', bId);
    for (let i = 0; i < 50 && !listFiles(spillDir).some((p) => /duckdb_temp_storage/.test(p)); i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const canaryDir = await tempDir('molesignal-canary-');
  const canaryFile = join(canaryDir, 'canary.txt');
  writeFileSync(canaryFile, `${CANARY}\n${CANARY},${CANARY}\n`);
  const dataDir = resolve(server.dataDir);
  const aDir = join(dataDir, 'objects', aId);
  const bDir = join(dataDir, 'objects', bId);
  const aParquet = listFiles(aDir).filter((p) => p.endsWith('.parquet'));
  const bParquet = listFiles(bDir).filter((p) => p.endsWith('.parquet'));
  assert.ok(aParquet.length >= 3, 'A has Parquet files');
  assert.ok(bParquet.length >= 4, 'B has Parquet files');
  return {
    server,
    dataDir,
    aId,
    bId,
    aDir,
    bDir,
    aQuery: await key(['query']),
    aIngest: await key(['ingest']),
    aParquet,
    bParquet,
    canaryDir,
    canaryFile,
    bFingerprints,
  };
}

// ---------------------------------------------------------------------------------------------
// The battery
// ---------------------------------------------------------------------------------------------

/** What the validator-on server must answer: a 400/403 whose message matches, or A's rows only. */
type Expect = RegExp | { aRows: number; extra?: string };
interface Payload {
  name: string;
  sql: (w: World) => string;
  on: Expect;
}

const TABLE_FN = /table function [\w.]+\(\) is not allowed; read streams as logs\.<stream>/;
const FUNCTION = /function [\w.]+(\(\))? is not allowed/;
const ONE_SELECT = /only one SELECT statement is allowed|holds \d+ statements; send exactly one SELECT/;
const NOT_FOUND = /^table ".+" not found or not accessible$/;
const SHOW = /DESCRIBE, SHOW and SUMMARIZE are not allowed/;
const PARSE = /^SQL parse error: /;
const RESERVED = /WITH name "q_logs__app" is reserved/;

const bFile = (w: World) => w.bParquet[0]!;
const bLogFile = (w: World) => w.bParquet.find((p) => p.includes('/logs/bsecret/'))!;

const PAYLOADS: Payload[] = [
  // table functions over host files
  { name: 'read_csv host canary', sql: (w) => `SELECT * FROM read_csv('${w.canaryFile}')`, on: TABLE_FN },
  {
    name: 'read_csv_auto /etc/passwd',
    sql: () => `SELECT * FROM read_csv_auto('/etc/passwd')`,
    on: TABLE_FN,
  },
  { name: 'read_text /etc/passwd', sql: () => `SELECT * FROM read_text('/etc/passwd')`, on: TABLE_FN },
  {
    name: 'read_text /etc/hostname',
    sql: () => `SELECT content FROM read_text('/etc/hostname')`,
    on: TABLE_FN,
  },
  { name: 'read_blob host canary', sql: (w) => `SELECT * FROM read_blob('${w.canaryFile}')`, on: TABLE_FN },
  { name: 'read_json host canary', sql: (w) => `SELECT * FROM read_json('${w.canaryFile}')`, on: TABLE_FN },
  {
    name: 'read_json_auto /proc/self/environ',
    sql: () => `SELECT * FROM read_json_auto('/proc/self/environ')`,
    on: TABLE_FN,
  },
  {
    name: 'read_csv /proc/self/environ (root password)',
    sql: () => `SELECT * FROM read_csv('/proc/self/environ', sep = '\\0', header = false)`,
    on: TABLE_FN,
  },
  {
    name: 'read_blob the catalog database',
    sql: (w) => `SELECT * FROM read_blob('${w.dataDir}/catalog.sqlite')`,
    on: TABLE_FN,
  },
  {
    name: 'mixed-case Read_Text',
    sql: (w) => `SELECT * FROM Read_Text('${w.canaryFile}')`,
    on: TABLE_FN,
  },
  {
    name: "escape-string path E'\\x2f…'",
    sql: () => `SELECT * FROM read_text(E'\\x2fetc\\x2fpasswd')`,
    on: TABLE_FN,
  },
  // table functions over B's Parquet files
  { name: 'read_parquet B file', sql: (w) => `SELECT * FROM read_parquet('${bLogFile(w)}')`, on: TABLE_FN },
  { name: 'parquet_scan B file', sql: (w) => `SELECT * FROM parquet_scan('${bFile(w)}')`, on: TABLE_FN },
  {
    name: 'read_parquet **/*.parquet over the data dir',
    sql: (w) => `SELECT * FROM read_parquet('${w.dataDir}/**/*.parquet', union_by_name = true)`,
    on: TABLE_FN,
  },
  {
    name: "read_parquet B's object dir glob",
    sql: (w) => `SELECT * FROM read_parquet('${w.bDir}/**/*.parquet', union_by_name = true)`,
    on: TABLE_FN,
  },
  {
    name: "read_parquet ../ from A's dir into B's",
    sql: (w) => `SELECT * FROM read_parquet('${w.aDir}/../${w.bId}/logs/bsecret/**/*.parquet')`,
    on: TABLE_FN,
  },
  {
    name: 'read_parquet list [A file, B file]',
    sql: (w) => `SELECT * FROM read_parquet(['${w.aParquet[0]}', '${bFile(w)}'], union_by_name = true)`,
    on: TABLE_FN,
  },
  { name: 'read_text B file', sql: (w) => `SELECT * FROM read_text('${bLogFile(w)}')`, on: TABLE_FN },
  { name: "glob('*')", sql: () => `SELECT * FROM glob('*')`, on: TABLE_FN },
  { name: 'glob data dir **', sql: (w) => `SELECT * FROM glob('${w.dataDir}/**')`, on: TABLE_FN },
  // DuckDB's default temp_directory is `.tmp` under the process's working directory, and DuckDB
  // adds the temp directory to allowed_directories: spill files of every org would meet there
  {
    name: 'glob the default DuckDB temp dir',
    sql: () => `SELECT * FROM glob('${SERVER_CWD}/.tmp/**')`,
    on: TABLE_FN,
  },
  {
    name: 'read_blob spill files in the default DuckDB temp dir',
    sql: () =>
      `SELECT filename, size, list_distinct(regexp_extract_all(content::VARCHAR, 'B-secret-[0-9a-f-]{36}')) AS found ` +
      `FROM read_blob('${SERVER_CWD}/.tmp/duckdb_temp_storage_S*.tmp')`,
    on: TABLE_FN,
  },
  {
    name: 'read_blob everything in the default DuckDB temp dir',
    sql: () =>
      `SELECT filename, size, list_distinct(regexp_extract_all(content::VARCHAR, 'B-secret-[0-9a-f-]{36}')) AS found ` +
      `FROM read_blob('${SERVER_CWD}/.tmp/*')`,
    on: TABLE_FN,
  },
  {
    name: 'COPY into the default DuckDB temp dir (breakout)',
    sql: () =>
      `SELECT 1) AS x; COPY (SELECT 42 AS x) TO '${SERVER_CWD}/.tmp/pwn.csv'; SELECT * FROM (SELECT 1`,
    on: PARSE,
  },
  {
    name: "read_blob B's dir ** (spill files, staging)",
    sql: (w) =>
      `SELECT filename, list_distinct(regexp_extract_all(content::VARCHAR, 'B-secret-[0-9a-f-]{36}')) AS found ` +
      `FROM read_blob('${w.bDir}/**')`,
    on: TABLE_FN,
  },
  {
    name: 'query() runs read_text',
    sql: (w) => `SELECT * FROM query('SELECT * FROM read_text(''${w.canaryFile}'')')`,
    on: TABLE_FN,
  },
  {
    name: 'query_table memtable',
    sql: () => `SELECT * FROM query_table('mem_logs_bsecret_g2')`,
    on: TABLE_FN,
  },
  { name: 'sniff_csv host canary', sql: (w) => `SELECT * FROM sniff_csv('${w.canaryFile}')`, on: TABLE_FN },
  {
    name: 'parquet_metadata B file',
    sql: (w) => `SELECT * FROM parquet_metadata('${bFile(w)}')`,
    on: TABLE_FN,
  },
  { name: 'parquet_schema B file', sql: (w) => `SELECT * FROM parquet_schema('${bFile(w)}')`, on: TABLE_FN },
  // paths as table names
  { name: "FROM '<B parquet path>'", sql: (w) => `SELECT * FROM '${bLogFile(w)}'`, on: NOT_FOUND },
  { name: 'FROM "<B parquet path>"', sql: (w) => `SELECT * FROM "${bLogFile(w)}"`, on: NOT_FOUND },
  {
    name: "FROM '<host canary csv>'",
    sql: (w) => `SELECT * FROM '${w.canaryFile.replace(/txt$/, 'csv')}'`,
    on: NOT_FOUND,
  },
  {
    name: "FROM '<data dir>/**/*.parquet'",
    sql: (w) => `SELECT * FROM '${w.dataDir}/objects/*/logs/*/*/*/*/*/*.parquet'`,
    on: NOT_FOUND,
  },
  // statements other than SELECT
  { name: 'ATTACH a file', sql: (w) => `ATTACH '${w.canaryDir}/attached.duckdb' AS pwn`, on: ONE_SELECT },
  { name: "ATTACH ':memory:'", sql: () => `ATTACH ':memory:' AS pwn`, on: ONE_SELECT },
  {
    name: 'COPY stream TO a host path',
    sql: (w) => `COPY logs.app TO '${w.canaryDir}/copy.csv'`,
    on: ONE_SELECT,
  },
  {
    name: 'COPY (SELECT) TO a host path',
    sql: (w) => `COPY (SELECT * FROM logs.app) TO '${w.canaryDir}/copy.parquet' (FORMAT parquet)`,
    on: ONE_SELECT,
  },
  {
    name: "COPY TO B's dir",
    sql: (w) => `COPY (SELECT 'pwn' AS x) TO '${w.bDir}/logs/bsecret/pwn.parquet' (FORMAT parquet)`,
    on: ONE_SELECT,
  },
  { name: 'EXPORT DATABASE', sql: (w) => `EXPORT DATABASE '${w.canaryDir}/export'`, on: ONE_SELECT },
  { name: 'IMPORT DATABASE', sql: (w) => `IMPORT DATABASE '${w.canaryDir}'`, on: ONE_SELECT },
  { name: 'PRAGMA database_list', sql: () => `PRAGMA database_list`, on: ONE_SELECT },
  { name: 'PRAGMA show_tables', sql: () => `PRAGMA show_tables`, on: ONE_SELECT },
  { name: 'PRAGMA table_info', sql: () => `PRAGMA table_info('mem_logs_bsecret_g2')`, on: ONE_SELECT },
  { name: 'SET enable_external_access', sql: () => `SET enable_external_access = true`, on: ONE_SELECT },
  { name: 'SET allowed_directories', sql: () => `SET allowed_directories = ['/']`, on: ONE_SELECT },
  { name: 'SET lock_configuration', sql: () => `SET lock_configuration = false`, on: ONE_SELECT },
  { name: 'RESET allowed_directories', sql: () => `RESET allowed_directories`, on: ONE_SELECT },
  { name: 'INSTALL httpfs', sql: () => `INSTALL httpfs`, on: ONE_SELECT },
  { name: 'LOAD httpfs', sql: () => `LOAD httpfs`, on: ONE_SELECT },
  { name: 'CALL duckdb_settings()', sql: () => `CALL duckdb_settings()`, on: ONE_SELECT },
  { name: 'CREATE MACRO', sql: () => `CREATE MACRO pwn(x) AS x + 1`, on: ONE_SELECT },
  { name: 'DROP TABLE a memtable', sql: () => `DROP TABLE mem_logs_app_g2`, on: ONE_SELECT },
  { name: 'DESCRIBE', sql: () => `DESCRIBE logs.app`, on: SHOW },
  { name: 'SHOW TABLES', sql: () => `SHOW TABLES`, on: SHOW },
  { name: 'SUMMARIZE', sql: () => `SUMMARIZE logs.app`, on: SHOW },
  { name: 'FROM (SUMMARIZE …)', sql: () => `SELECT * FROM (SUMMARIZE logs.app)`, on: SHOW },
  // several statements in one
  {
    name: 'SELECT 1; SELECT read_text',
    sql: (w) => `SELECT 1; SELECT * FROM read_text('${w.canaryFile}')`,
    on: ONE_SELECT,
  },
  {
    name: 'stream; ATTACH',
    sql: (w) => `SELECT * FROM logs.app; ATTACH '${w.canaryDir}/two.duckdb' AS pwn`,
    on: ONE_SELECT,
  },
  {
    name: 'break out of the executor wrapper',
    sql: (w) => `SELECT 1) AS x; SELECT * FROM read_text('${w.canaryFile}'); SELECT * FROM (SELECT 1`,
    on: PARSE,
  },
  {
    name: 'break out of the wrapper and COPY',
    sql: (w) => `SELECT 1) AS x; COPY (SELECT 1) TO '${w.canaryDir}/breakout.csv'; SELECT * FROM (SELECT 1`,
    on: PARSE,
  },
  // With the validator off the executor wraps raw SQL as `SELECT * FROM (<sql>) AS __page …`;
  // closing that parenthesis runs further statements, so each of these reaches the sandbox itself.
  ...(
    [
      ['ATTACH a host file', (w) => `ATTACH '${w.canaryDir}/attached.duckdb' AS pwn`],
      [
        'COPY A rows to a host path',
        (w) => `COPY (SELECT * FROM mem_logs_app_g2) TO '${w.canaryDir}/copy.csv'`,
      ],
      [
        "COPY into B's dir",
        (w) => `COPY (SELECT 42 AS x) TO '${w.bDir}/logs/bsecret/pwn.parquet' (FORMAT parquet)`,
      ],
      ["COPY into B's dir via ../", (w) => `COPY (SELECT 42 AS x) TO '${w.aDir}/../${w.bId}/pwn.csv'`],
      ['EXPORT DATABASE to a host dir', (w) => `EXPORT DATABASE '${w.canaryDir}/export'`],
      ['IMPORT DATABASE from a host dir', (w) => `IMPORT DATABASE '${w.canaryDir}'`],
      ['SET enable_external_access', () => `SET enable_external_access = true`],
      ['SET allowed_directories', () => `SET allowed_directories = ['/']`],
      ['RESET allowed_directories', () => `RESET allowed_directories`],
      ['SET lock_configuration', () => `SET lock_configuration = false`],
      ["SET temp_directory to B's dir", (w) => `SET temp_directory = '${w.bDir}'`],
      ['INSTALL httpfs', () => `INSTALL httpfs`],
      ['LOAD httpfs', () => `LOAD httpfs`],
      ['LOAD an extension file', (w) => `LOAD '${w.canaryFile}'`],
      [
        'CREATE VIEW over a host file',
        (w) => `CREATE VIEW pwn AS SELECT * FROM read_text('${w.canaryFile}')`,
      ],
    ] as [string, (w: World) => string][]
  ).map(([name, stmt]) => ({
    name: `break out of the wrapper: ${name}`,
    sql: (w: World) => `SELECT 1) AS x; ${stmt(w)}; SELECT * FROM (SELECT 1`,
    on: PARSE,
  })),
  {
    name: 'NUL cuts a second statement',
    sql: (w) => `SELECT * FROM logs.app\0; SELECT * FROM read_text('${w.canaryFile}')`,
    on: /NUL character/,
  },
  // other org's stream names
  { name: "B's logs stream", sql: () => `SELECT * FROM logs.bsecret`, on: NOT_FOUND },
  { name: "B's traces stream", sql: () => `SELECT * FROM traces.bspans`, on: NOT_FOUND },
  {
    name: "join A's stream with B's",
    sql: () => `SELECT * FROM logs.app a JOIN logs.bsecret b ON a._timestamp <> b._timestamp`,
    on: NOT_FOUND,
  },
  {
    name: 'shared stream name: logs.app (allowed, A only)',
    sql: () => `SELECT * FROM logs.app`,
    on: { aRows: 6 },
  },
  {
    name: 'shared stream name: traces.app (allowed, A only)',
    sql: () => `SELECT * FROM traces.app`,
    on: { aRows: 4 },
  },
  {
    name: 'UNION with VALUES (allowed, A only)',
    sql: () => `SELECT body FROM logs.app UNION ALL VALUES ('extra')`,
    on: { aRows: 6, extra: '{"body":"extra"}' },
  },
  // CTE and alias shadowing
  {
    name: 'CTE named logs hides read_text',
    sql: (w) => `WITH logs AS (SELECT * FROM read_text('${w.canaryFile}')) SELECT * FROM logs`,
    on: TABLE_FN,
  },
  {
    name: 'CTE named logs, then logs.bsecret',
    sql: () => `WITH logs AS (SELECT 1 AS x) SELECT * FROM logs.bsecret`,
    on: NOT_FOUND,
  },
  {
    name: 'CTE named like the rewriter relation',
    sql: () => `WITH q_logs__app AS (SELECT 'fake' AS body) SELECT * FROM logs.app`,
    on: RESERVED,
  },
  { name: 'the relation name directly (B only)', sql: () => `SELECT * FROM q_logs__bsecret`, on: NOT_FOUND },
  { name: 'the relation name directly (A too)', sql: () => `SELECT * FROM q_logs__app`, on: NOT_FOUND },
  {
    name: "alias named like B's relation",
    sql: () => `SELECT q_logs__bsecret.* FROM logs.app AS q_logs__bsecret, logs.bsecret`,
    on: NOT_FOUND,
  },
  // comments and quoting
  { name: 'block comment inside the name', sql: () => `SELECT * FROM logs/**/.bsecret`, on: NOT_FOUND },
  {
    name: 'block comment hides a stream',
    sql: () => `SELECT * FROM /* logs.app */ logs.bsecret`,
    on: NOT_FOUND,
  },
  {
    name: '-- comment and newline hide a second statement',
    sql: (w) => `SELECT * FROM logs.app -- harmless\n; SELECT * FROM read_text('${w.canaryFile}')`,
    on: ONE_SELECT,
  },
  {
    name: 'comment-looking text in a string',
    sql: (w) => `SELECT '/*' AS a, * FROM read_text('${w.canaryFile}') -- */`,
    on: TABLE_FN,
  },
  { name: 'quoted "lo""gs".app', sql: () => `SELECT * FROM "lo""gs".app`, on: NOT_FOUND },
  { name: 'quoted "logs.app"', sql: () => `SELECT * FROM "logs.app"`, on: NOT_FOUND },
  { name: 'quoted "logs.bsecret"', sql: () => `SELECT * FROM "logs.bsecret"`, on: NOT_FOUND },
  { name: 'upper-case LOGS.BSECRET', sql: () => `SELECT * FROM LOGS."BSECRET"`, on: NOT_FOUND },
  { name: 'Cyrillic о in the schema', sql: () => `SELECT * FROM lоgs.app`, on: NOT_FOUND },
  { name: 'Cyrillic а in the stream', sql: () => `SELECT * FROM logs."аpp"`, on: NOT_FOUND },
  { name: 'Kelvin sign in the schema', sql: () => `SELECT * FROM "\u212Aeys".app`, on: NOT_FOUND },
  { name: 'fullwidth schema', sql: () => `SELECT * FROM "ｌｏｇｓ".bsecret`, on: NOT_FOUND },
  // functions that reach settings, environment and catalogs
  { name: "getenv('HOME')", sql: () => `SELECT getenv('HOME') AS h`, on: FUNCTION },
  {
    name: "current_setting('allowed_directories')",
    sql: () => `SELECT current_setting('allowed_directories') AS d`,
    on: FUNCTION,
  },
  { name: 'duckdb_tables()', sql: () => `SELECT * FROM duckdb_tables()`, on: TABLE_FN },
  { name: 'duckdb_settings()', sql: () => `SELECT * FROM duckdb_settings()`, on: TABLE_FN },
  { name: 'duckdb_databases()', sql: () => `SELECT * FROM duckdb_databases()`, on: TABLE_FN },
  { name: 'duckdb_temporary_files()', sql: () => `SELECT * FROM duckdb_temporary_files()`, on: TABLE_FN },
  { name: 'information_schema.tables', sql: () => `SELECT * FROM information_schema.tables`, on: NOT_FOUND },
  { name: 'pg_catalog.pg_class', sql: () => `SELECT * FROM pg_catalog.pg_class`, on: NOT_FOUND },
  { name: 'sqlite_master', sql: () => `SELECT * FROM sqlite_master`, on: NOT_FOUND },
  { name: 'json_serialize_sql', sql: () => `SELECT json_serialize_sql('SELECT 1') AS j`, on: FUNCTION },
  {
    name: 'system.main function call',
    sql: (w) => `SELECT system.main.read_text('${w.canaryFile}') AS t`,
    on: FUNCTION,
  },
  // internal table names
  {
    name: "A's memtable main.mem_logs_app_g2",
    sql: () => `SELECT * FROM main."mem_logs_app_g2"`,
    on: NOT_FOUND,
  },
  {
    name: "B's memtable main.mem_logs_bsecret_g2",
    sql: () => `SELECT * FROM main."mem_logs_bsecret_g2"`,
    on: NOT_FOUND,
  },
  {
    name: "B's memtable mem_traces_bspans_g0",
    sql: () => `SELECT * FROM mem_traces_bspans_g0`,
    on: NOT_FOUND,
  },
  {
    name: 'memory.main.mem_logs_app_g2',
    sql: () => `SELECT * FROM memory.main.mem_logs_app_g2`,
    on: NOT_FOUND,
  },
  {
    name: 'memory.main.mem_logs_bsecret_g2',
    sql: () => `SELECT * FROM memory.main.mem_logs_bsecret_g2`,
    on: NOT_FOUND,
  },
  // table functions hidden deeper in a query
  {
    name: 'nested subquery with read_text',
    sql: (w) => `SELECT * FROM logs.app WHERE body IN (SELECT content FROM read_text('${w.canaryFile}'))`,
    on: TABLE_FN,
  },
  {
    name: 'scalar subquery with read_parquet',
    sql: (w) => `SELECT body, (SELECT max(body) FROM read_parquet('${bLogFile(w)}')) AS b FROM logs.app`,
    on: TABLE_FN,
  },
  {
    name: 'LATERAL table function',
    sql: (w) => `SELECT * FROM logs.app a, LATERAL (SELECT * FROM read_text('${w.canaryFile}')) t`,
    on: TABLE_FN,
  },
  {
    name: 'UNION ALL read_text',
    sql: (w) => `SELECT body FROM logs.app UNION ALL SELECT content FROM read_text('${w.canaryFile}')`,
    on: TABLE_FN,
  },
  {
    name: 'UNION ALL B memtable',
    sql: () => `SELECT body FROM logs.app UNION ALL SELECT body FROM mem_logs_bsecret_g2`,
    on: NOT_FOUND,
  },
  {
    name: 'very long SQL (> 16 KiB)',
    sql: () => `SELECT * FROM logs.app /* ${'x'.repeat(17 * 1024)} */`,
    on: /over the limit of \d+ bytes/,
  },
];

interface Outcome {
  name: string;
  sql: string;
  status: number;
  body: string;
}

async function runPayload(w: World, p: Payload): Promise<Outcome> {
  const sql = p.sql(w);
  const res = await w.server.fetch('/api/alpha/_search', {
    method: 'POST',
    body: JSON.stringify({ sql, size: 1000 }),
    auth: w.aQuery,
  });
  const body = await res.text();
  if (DEBUG) console.log(`${res.status} ${p.name}: ${body.slice(0, 240)}`);
  return { name: p.name, sql, status: res.status, body };
}

/** No byte of B, of a host file or of a secret; with `strict`, no data-dir path either. */
function assertNothingLeaked(w: World, o: Outcome, strict: boolean): void {
  const where = `${o.name} (HTTP ${o.status}): ${o.body.slice(0, 400)}`;
  assert.ok(!o.body.includes(B_MARK), `B's marker leaked: ${where}`);
  assert.ok(!o.body.includes(CANARY), `host canary leaked: ${where}`);
  assert.doesNotMatch(o.body, /root:[^:\n]*:0:0:/, `/etc/passwd leaked: ${where}`);
  assert.ok(!o.body.includes(ROOT_PASSWORD), `root password leaked: ${where}`);
  if (HOSTNAME.length >= 8 && !o.sql.includes(HOSTNAME))
    assert.ok(!o.body.includes(HOSTNAME), `/etc/hostname leaked: ${where}`);
  for (const f of w.bFingerprints) assert.ok(!o.body.includes(f), `a row of B leaked (${f}): ${where}`);
  // echoing the attacker's own text is not a disclosure; anything else naming B's id is
  if (!o.sql.includes(w.bId)) assert.ok(!o.body.includes(w.bId), `B's org id disclosed: ${where}`);
  if (strict && !o.sql.includes(w.dataDir))
    assert.ok(!o.body.includes(w.dataDir), `data dir path disclosed: ${where}`);
}

function assertARowsOnly(o: Outcome, want: { aRows: number; extra?: string }): void {
  assert.equal(o.status, 200, `${o.name}: ${o.body.slice(0, 400)}`);
  const hits = (JSON.parse(o.body) as { hits: Record<string, unknown>[] }).hits.map((h) => JSON.stringify(h));
  const ofA = hits.filter((h) => h.includes(A_MARK));
  assert.equal(ofA.length, want.aRows, `${o.name}: all of A's rows`);
  const others = hits.filter((h) => !h.includes(A_MARK) && h !== want.extra);
  assert.deepEqual(others, [], `${o.name}: rows that are not A's`);
}

/**
 * Everything outside A's own directory that a COPY/EXPORT/ATTACH could have written to. B's own
 * DuckDB spill files are left out: B's engine (a background flush under the 32 MiB limit) may add
 * one at any time; that A's engine never spills there is checked by its settings after the attack.
 */
function outsideA(w: World): Record<string, string[]> {
  return {
    canaryDir: snapshot(w.canaryDir),
    bDir: snapshot(w.bDir).filter((p) => !/\/_staging\/duckdb_tmp\/duckdb_temp_storage_[^/]*\.tmp$/.test(p)),
    dataDirTop: readdirSync(w.dataDir).sort(),
    objects: readdirSync(join(w.dataDir, 'objects')).sort(),
    sharedTmp: existsSync(join(SERVER_CWD, '.tmp'))
      ? listFiles(join(SERVER_CWD, '.tmp')).filter((p) => !/duckdb_temp_storage/.test(p))
      : [],
  };
}

async function checkIngestSpoofing(w: World): Promise<void> {
  const s = w.server;
  const tag = `T5-${randomUUID()}`;
  const body = (id: string) => JSON.stringify(otlpJsonLogs([{ id: `${tag}-${id}`, body: `${tag} ${id}` }]));
  const post = (path: string, id: string, headers: Record<string, string> = {}) =>
    s.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'app', ...headers },
      body: body(id),
      auth: w.aIngest,
    });
  const bBefore = await streamRows(s, 'beta');

  const viaHeader = await post('/v1/logs', 'header', { 'x-scope-orgid': 'beta' });
  const viaPath = await post('/api/beta/v1/logs', 'path');
  const missing = await post('/api/no-such-org/v1/logs', 'missing');
  const [headerText, pathText, missingText] = await Promise.all(
    [viaHeader, viaPath, missing].map((r) => r.text()),
  );
  assert.equal(viaHeader.status, 404, headerText);
  assert.equal(viaPath.status, 404, pathText);
  assert.equal(missing.status, 404, missingText);
  assert.equal(pathText, missingText, 'a foreign org answers like a missing one');
  const tracesViaPath = await s.fetch('/api/beta/v1/traces', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stream-name': 'app' },
    body: JSON.stringify(otlpJsonSpans([{ name: tag, traceId: hex(16), spanId: hex(8), attrs: {} }], NOW_NS)),
    auth: w.aIngest,
  });
  assert.equal(tracesViaPath.status, 404, await tracesViaPath.text());
  // a query parameter and a resource attribute naming B do not route anything to B
  const viaQuery = await post('/v1/logs?org=beta&X-Scope-OrgID=beta', 'query');
  assert.ok([200, 400].includes(viaQuery.status), `?org=beta: ${viaQuery.status} ${await viaQuery.text()}`);
  const withAttr = otlpJsonLogs([{ id: `${tag}-attr`, body: `${tag} attr` }]);
  withAttr.resourceLogs[0]!.resource.attributes.push(
    { key: 'org', value: { stringValue: 'beta' } },
    { key: 'X-Scope-OrgID', value: { stringValue: 'beta' } },
  );
  const viaAttr = await s.fetch('/v1/logs', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stream-name': 'app' },
    body: JSON.stringify(withAttr),
    auth: w.aIngest,
  });
  assert.ok([200, 400].includes(viaAttr.status), `org=beta: ${viaAttr.status} ${await viaAttr.text()}`);

  assert.deepEqual(await streamRows(s, 'beta'), bBefore, "B's streams did not grow");
  const inB = await s.search(`SELECT count(*) AS c FROM logs.app WHERE body LIKE '${tag}%'`, { org: 'beta' });
  assert.equal(inB.hits[0]!.c, 0, 'nothing of A landed in B');
  const inA = await s.search(`SELECT count(*) AS c FROM logs.app WHERE body LIKE '${tag}%'`, {
    org: 'alpha',
  });
  const accepted = [viaQuery, viaAttr].filter((r) => r.status === 200).length;
  assert.equal(inA.hits[0]!.c, accepted, 'what was accepted landed in A');
}

test('the battery has at least 45 payloads, uniquely named', () => {
  assert.ok(PAYLOADS.length >= 45, `${PAYLOADS.length} payloads`);
  assert.equal(new Set(PAYLOADS.map((p) => p.name)).size, PAYLOADS.length);
});

describe('T1 with the SQL validator on', () => {
  let server: ServerProcess | undefined;
  let w: World;
  before(async () => {
    server = await startServer();
    w = await buildWorld(server);
  });
  after(async () => {
    await server?.stop();
    if (w) for (const dir of [w.canaryDir, w.dataDir]) await removeDir(dir);
  });

  test('org A sees its own rows, root sees B (the setup is what we think)', async () => {
    const a = await w.server.search(`SELECT count(*) AS c FROM logs.app`, { org: 'alpha', auth: w.aQuery });
    assert.equal(a.hits[0]!.c, 6);
    const b = await w.server.search(`SELECT body FROM logs.bsecret`, { org: 'beta' });
    assert.equal(b.hits.length, 6);
    assert.ok(b.hits.every((h) => String(h.body).startsWith(B_MARK)));
    const bt = await w.server.search(`SELECT count(*) AS c FROM traces.bspans`, { org: 'beta' });
    assert.equal(bt.hits[0]!.c, 4);
  });

  test(`${PAYLOADS.length} crafted payloads: rejected with a clear message, or A's rows only`, async () => {
    const bBefore = await bState(w, true);
    const outside = outsideA(w);
    const failures: string[] = [];
    for (const p of PAYLOADS) {
      const o = await runPayload(w, p);
      try {
        assertNothingLeaked(w, o, true);
        if (!(p.on instanceof RegExp)) {
          assertARowsOnly(o, p.on);
        } else {
          assert.ok(o.status === 400 || o.status === 403, `HTTP ${o.status}`);
          const err = (JSON.parse(o.body) as { error: { code: string; message: string } }).error;
          assert.match(err.code, /^MS_ERR_/);
          assert.match(err.message, p.on);
        }
      } catch (e) {
        failures.push(`${p.name}: ${(e as Error).message.split('\n')[0]} :: ${o.body.slice(0, 300)}`);
      }
    }
    assert.deepEqual(failures, []);
    // the file snapshot first: root's query in B's DuckDB may spill (new temp files in B's dir)
    assert.deepEqual(outsideA(w), outside, "nothing was written outside A's directory");
    assert.deepEqual(await bState(w, true), bBefore, "B's data is unchanged");
  });

  test("T5: A's ingest key cannot write into B", async () => {
    await checkIngestSpoofing(w);
  });
});

describe('T1 with the SQL validator off: the DuckDB sandbox alone', () => {
  let server: ServerProcess | undefined;
  let w: World;
  before(async () => {
    // A small DuckDB memory limit and a large B memtable: B's DuckDB spills to its temp directory.
    server = await startServer({
      disableSqlValidator: true,
      env: { MOLESIGNAL_QUERY_DUCKDB_MEMORY_LIMIT: '32MiB' },
    });
    w = await buildWorld(server, 40 * 1024 * 1024);
  });
  after(async () => {
    await server?.stop();
    if (w) for (const dir of [w.canaryDir, w.dataDir]) await removeDir(dir);
  });

  test("the sandbox reaches A's own directory only", async () => {
    const r = await w.server.search(
      `SELECT unnest(current_setting('allowed_directories')) AS d, current_setting('temp_directory') AS t`,
      { org: 'alpha', auth: w.aQuery },
    );
    assert.ok(r.hits.length > 0);
    const own = await w.server.search(
      `SELECT count(*) AS c FROM read_parquet('${w.aDir}/**/*.parquet', union_by_name = true)`,
      { org: 'alpha', auth: w.aQuery },
    );
    assert.equal(
      Number(own.hits[0]!.c),
      8,
      "A's own Parquet files are readable (the sandbox is not just broken)",
    );
    await assert.rejects(
      w.server.search(`SELECT count(*) AS c FROM read_parquet('${w.bDir}/**/*.parquet')`, {
        org: 'alpha',
        auth: w.aQuery,
      }),
      /Permission Error/,
    );
    for (const h of r.hits) {
      assert.ok(
        String(h.d).startsWith(w.aDir + '/'),
        `allowed directory ${String(h.d)} is outside ${w.aDir}`,
      );
      assert.ok(
        resolve(String(h.t)).startsWith(w.aDir + '/'),
        `temp directory ${String(h.t)} is outside ${w.aDir}`,
      );
    }
  });

  test("B's DuckDB did spill, into B's own directory", async () => {
    const spilled = listFiles(w.bDir).filter((p) => /duckdb_temp_storage/.test(p));
    assert.ok(
      spilled.length > 0,
      "no DuckDB temp file in B's directory: the temp-file payloads would be vacuous",
    );
    const t = await w.server.search(`SELECT current_setting('temp_directory') AS t`, { org: 'beta' });
    assert.ok(resolve(String(t.hits[0]!.t)).startsWith(w.bDir + '/'), `B spills to ${String(t.hits[0]!.t)}`);
  });

  test(`${PAYLOADS.length} crafted payloads as raw SQL: nothing of B or of the host comes back`, async () => {
    const bBefore = await bState(w, false);
    const outside = outsideA(w);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const p of PAYLOADS) {
      const o = await runPayload(w, p);
      statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      try {
        assertNothingLeaked(w, o, false);
        assert.ok(o.status === 200 || (o.status >= 400 && o.status < 500), `HTTP ${o.status}`);
      } catch (e) {
        failures.push(`${p.name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (DEBUG) console.log('statuses', Object.fromEntries(statuses));
    assert.deepEqual(failures, []);
    assert.equal((await w.server.fetch('/healthz', { auth: null })).status, 200);
    const settings = await w.server.search(
      `SELECT unnest(current_setting('allowed_directories')) AS d, current_setting('temp_directory') AS t`,
      { org: 'alpha', auth: w.aQuery },
    );
    for (const h of settings.hits) {
      assert.ok(String(h.d).startsWith(w.aDir + '/'), `after the attack A may read ${String(h.d)}`);
      assert.ok(resolve(String(h.t)).startsWith(w.aDir + '/'), `after the attack A spills to ${String(h.t)}`);
    }
    // the file snapshot first: root's query in B's DuckDB may spill (new temp files in B's dir)
    assert.deepEqual(outsideA(w), outside, "nothing was written outside A's directory");
    assert.deepEqual(await bState(w, false), bBefore, "B's data is unchanged");
  });
});
