import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { MoleError } from '../lib/errors.ts';
import { isDeniedFunction, validateAndRewrite, type StreamType } from './sql-validator.ts';

const STREAMS = new Set(['logs.app', 'logs.web', 'traces.checkout', 'metrics.cpu']);
const streams = { has: (t: StreamType, s: string) => STREAMS.has(`${t}.${s}`) };
const relationName = (t: StreamType, s: string) => `q_${t}__${s}`;
const RELATIONS = new Set([...STREAMS].map((k) => relationName(...(k.split('.') as [StreamType, string]))));

/** A view that fails the query if DuckDB ever binds and runs it: catches scoping and rewrite bugs. */
const decoy = (name: string) =>
  `CREATE VIEW ${name} AS SELECT ts, body FROM (VALUES (1::BIGINT, 'x')) t(ts, body) WHERE error('LEAK ${name}') IS NULL`;

let instance: DuckDBInstance;
let conn: DuckDBConnection;
before(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  const logs = `SELECT * FROM (VALUES (1::BIGINT, 'error', 'api', 'timeout user=7', 't1', '{"http":{"status":500}}'),
    (2::BIGINT, 'info', 'web', 'ok', 't2', '{"http":{"status":200}}')) t(ts, level, service, body, trace_id, attributes)`;
  await conn.run(`CREATE TEMP VIEW q_logs__app AS ${logs}`);
  await conn.run(`CREATE TEMP VIEW q_logs__web AS ${logs}`);
  await conn.run(`CREATE TEMP VIEW q_traces__checkout AS SELECT * FROM (VALUES (1::BIGINT, 't1', 's1', 'api', 'GET /', 1500::BIGINT, 'error', 'x'))
    t(ts, trace_id, span_id, service, name, duration_us, status, body)`);
  await conn.run(
    `CREATE TEMP VIEW q_metrics__cpu AS SELECT * FROM (VALUES (1::BIGINT, 'cpu', 0.5::DOUBLE, 'api', 'x')) t(ts, name, value, service, body)`,
  );
  for (const s of ['logs', 'traces', 'metrics']) await conn.run(`CREATE SCHEMA ${s}`);
  for (const v of [
    'main.decoy',
    'main.c1',
    'main.c2',
    'main.app',
    'main.mem_table',
    'logs.app',
    'logs.web',
    'logs.other_org',
    'traces.checkout',
    'metrics.cpu',
  ]) {
    await conn.run(decoy(v));
  }
  // The production sandbox, in the order that works (instance options fail).
  await conn.run(`SET allowed_directories=['/nonexistent-org-dir']`);
  await conn.run('SET enable_external_access=false');
  await conn.run('SET lock_configuration=true');
});
after(() => {
  conn.closeSync();
  instance.closeSync();
});

interface OracleNode {
  class?: unknown;
  type?: unknown;
  function_name?: unknown;
  catalog?: string;
  schema?: string;
  catalog_name?: string;
  schema_name?: string;
  table_name?: string;
  at_clause?: unknown;
  cte_map?: { map?: { key: unknown }[] };
}
/** Independent oracle: a blind walk over DuckDB's AST, no scoping, no shared code with the validator. */
function collect(sql: string, ast: unknown) {
  const out = {
    baseTables: [] as string[][],
    tableFns: [] as string[],
    fns: [] as string[][],
    ctes: new Set<string>(),
    classes: new Set<string>(),
  };
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (typeof v !== 'object' || v === null) return;
    const o = v as OracleNode;
    if (typeof o.class === 'string') out.classes.add(o.class);
    if (typeof o.function_name === 'string')
      out.fns.push([o.catalog ?? '', o.schema ?? '', o.function_name.toLowerCase()]);
    if (!('class' in o) && o.type === 'BASE_TABLE')
      out.baseTables.push([
        o.catalog_name ?? '',
        o.schema_name ?? '',
        o.table_name ?? '',
        o.at_clause === null ? '' : 'AT',
      ]);
    if (!('class' in o) && (o.type === 'TABLE_FUNCTION' || o.type === 'SHOW_REF')) out.tableFns.push(sql);
    for (const e of o.cte_map?.map ?? []) out.ctes.add(String(e.key).toLowerCase());
    Object.values(o).forEach(visit);
  };
  visit(ast);
  return out;
}
async function serialize(sql: string) {
  const r = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  return JSON.parse(String(r.getRows()[0]?.[0])) as { error: boolean; statements: unknown[] };
}
const ORACLE_DENIED = [
  'getenv',
  'current_setting',
  'read_text',
  'read_csv',
  'json_serialize_sql',
  'glob',
  'query',
  'duckdb_settings',
];

/** Asserts the rewritten SQL reads only relation names (or CTEs) and calls nothing denied. */
async function assertOnlyRelations(rewrittenSql: string) {
  const ast = await serialize(rewrittenSql);
  assert.equal(ast.error, false, rewrittenSql);
  assert.equal(ast.statements.length, 1);
  const c = collect(rewrittenSql, ast);
  assert.deepEqual(c.tableFns, []);
  for (const [catalog, schema, table] of c.baseTables) {
    assert.equal(`${catalog}${schema}`, '', `qualified table left in ${rewrittenSql}`);
    assert.ok(
      RELATIONS.has(table!.toLowerCase()) || c.ctes.has(table!.toLowerCase()),
      `${table} in ${rewrittenSql}`,
    );
  }
}

void describe('validateAndRewrite: accepted queries', () => {
  const cases: [string, string[]][] = [
    [
      `SELECT a.body, t.duration_us FROM logs.app a JOIN traces.checkout t ON a.trace_id = t.trace_id WHERE a.level = 'error' LIMIT 100`,
      ['logs.app', 'traces.checkout'],
    ],
    [
      `WITH errs AS (SELECT trace_id FROM logs.app WHERE level = 'error') SELECT count(*) FROM traces.checkout WHERE trace_id IN (SELECT trace_id FROM errs)`,
      ['logs.app', 'traces.checkout'],
    ],
    [
      `SELECT service, avg(duration_us) OVER (PARTITION BY service ORDER BY ts ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) FROM traces.checkout`,
      ['traces.checkout'],
    ],
    [
      `SELECT level, count(*) FILTER (WHERE body LIKE '%timeout%') AS timeouts, count(*) AS n FROM logs.app GROUP BY level HAVING count(*) > 0 ORDER BY n DESC`,
      ['logs.app'],
    ],
    [`SELECT body FROM logs.app UNION ALL SELECT body FROM logs.web`, ['logs.app', 'logs.web']],
    [
      `SELECT CASE WHEN level IN ('error', 'fatal') THEN 'bad' ELSE 'ok' END AS k, count(*) FROM logs.app GROUP BY ALL`,
      ['logs.app'],
    ],
    [
      `SELECT regexp_matches(body, 'user=(\\d+)'), date_trunc('hour', to_timestamp(ts / 1e6)), strftime(to_timestamp(ts), '%Y') FROM logs.app`,
      ['logs.app'],
    ],
    [
      `SELECT json_extract(attributes, '$.http.status')::INT AS status FROM logs.app ORDER BY ts DESC LIMIT 50 OFFSET 1`,
      ['logs.app'],
    ],
    [
      `SELECT * FROM logs.app QUALIFY row_number() OVER (PARTITION BY service ORDER BY ts DESC) = 1`,
      ['logs.app'],
    ],
    [
      `SELECT * FROM logs.app WHERE ts > (SELECT min(ts) FROM traces.checkout) AND EXISTS (SELECT 1 FROM metrics.cpu m WHERE m.service = app.service)`,
      ['logs.app', 'traces.checkout', 'metrics.cpu'],
    ],
    [`FROM logs.app SELECT *`, ['logs.app']],
    [`SELECT app.body, app.level FROM logs.app WHERE app.ts >= 1`, ['logs.app']],
    [
      `WITH a AS (SELECT * FROM logs.app), b AS (SELECT * FROM a WHERE level = 'error') SELECT count(*) FROM b JOIN logs.web w USING (trace_id)`,
      ['logs.app', 'logs.web'],
    ],
    [`WITH app AS (SELECT 1 AS x) SELECT l.body, app.x FROM logs.app l, app`, ['logs.app']],
    [
      `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n, (SELECT count(*) FROM logs.app) FROM r`,
      ['logs.app'],
    ],
    [`SELECT * FROM logs.app PIVOT (count(*) FOR level IN ('info', 'error') GROUP BY service)`, ['logs.app']],
    [`SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(x, y) WHERE x IN (SELECT ts FROM logs.app)`, ['logs.app']],
    [
      `SELECT list_transform([1, 2], x -> x + 1), [x * 2 FOR x IN [1, 2, 3] IF x > 1], EXTRACT(year FROM to_timestamp(ts)), SUBSTRING(body FROM 1 FOR 3) FROM LOGS.App`,
      ['logs.app'],
    ],
    [`SELECT 9007199254740993 AS big, ts FROM logs.app WHERE ts < 1700000000000000001`, ['logs.app']],
    [
      `SELECT l.body FROM logs.app l ASOF JOIN traces.checkout t ON l.trace_id = t.trace_id AND l.ts >= t.ts`,
      ['logs.app', 'traces.checkout'],
    ],
    [`SELECT * FROM logs.app a, LATERAL (SELECT a.ts + 1 AS next_ts) s`, ['logs.app']],
    [`SELECT 1; `, []],
    // A path in a string literal is only a string: no allowed scalar function opens files (and the
    // sandbox would refuse), so this is accepted and returns the text itself.
    [
      `SELECT upper('/etc/passwd') AS p, length('../../other-org/x.parquet') AS n FROM logs.app`,
      ['logs.app'],
    ],
  ];
  for (const [sql, expected] of cases) {
    void it(sql.slice(0, 90), async () => {
      const r = await validateAndRewrite(conn, sql, streams, relationName);
      assert.deepEqual(r.tables.map((t) => `${t.streamType}.${t.stream}`).sort(), [...expected].sort());
      await assertOnlyRelations(r.rewrittenSql);
      await conn.runAndReadAll(r.rewrittenSql); // binds (aliases work) and never touches a decoy
    });
  }

  void it('keeps integers past 2^53 exactly', async () => {
    const r = await validateAndRewrite(
      conn,
      'SELECT 9007199254740993 AS a, 12345678901234567890123 AS b',
      streams,
      relationName,
    );
    assert.match(r.rewrittenSql, /9007199254740993 AS a, 12345678901234567890123 AS b/);
  });
  void it('keeps the user alias, else uses the stream name', async () => {
    const r = await validateAndRewrite(
      conn,
      'SELECT * FROM logs.app AS "My Alias" JOIN logs.web USING (ts)',
      streams,
      relationName,
    );
    assert.match(r.rewrittenSql, /FROM q_logs__app AS "My Alias" INNER JOIN q_logs__web AS web/);
  });
});

type Reject = [string, string, number, string];
const T = (sql: string, written: string): Reject => [
  sql,
  sql,
  400,
  `table "${written}" not found or not accessible`,
];
const F = (sql: string, text: string): Reject => [sql, sql, 403, text];
const rejected: Reject[] = [
  ...[
    'read_csv',
    'read_parquet',
    'read_text',
    'read_blob',
    'read_json',
    'read_json_auto',
    'glob',
    'query',
    'query_table',
    'sniff_csv',
    'parquet_metadata',
    'duckdb_tables',
    'duckdb_settings',
    'range',
    'generate_series',
    'unnest',
  ].map((fn) => F(`SELECT * FROM ${fn}('/etc/passwd')`, `table function ${fn}() is not allowed`)),
  T(`SELECT * FROM '/etc/passwd'`, '/etc/passwd'),
  T(`SELECT * FROM 'x.parquet'`, 'x.parquet'),
  T(`SELECT * FROM "/etc/passwd"`, '/etc/passwd'),
  T(`SELECT * FROM logs.app, 'file.csv'`, 'file.csv'),
  ...[
    `ATTACH '/tmp/x.db' AS x`,
    `COPY (SELECT * FROM logs.app) TO '/tmp/out.csv'`,
    `EXPORT DATABASE '/tmp/x'`,
    `IMPORT DATABASE '/tmp/x'`,
    'PRAGMA database_list',
    'SET enable_external_access = true',
    'RESET enable_external_access',
    'INSTALL httpfs',
    'LOAD httpfs',
    'CALL pragma_version()',
    `SELECT 1; ATTACH 'x.db'`,
    'CREATE MACRO m() AS TABLE SELECT 1',
    'CREATE TABLE t AS SELECT 1',
    'DROP TABLE x',
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET a = 1',
    'DELETE FROM t',
    'USE memory',
    'CHECKPOINT',
    'EXPLAIN SELECT 1',
    `SELECT 1 /* ; */ ; ATTACH 'x'`,
    'SELECT 1 -- c\n; DROP TABLE x',
    `PIVOT logs.app ON level USING count(*)`,
  ].map((sql) => F(sql, 'only one SELECT statement is allowed')),
  F('SELECT 1; SELECT 2', 'SQL holds 2 statements'),
  F(`SELECT 1 /* x */; /* y */ SELECT * FROM logs.app`, 'SQL holds 2 statements'),
  T('SELECT * FROM logs.other_org', 'logs.other_org'),
  T('SELECT * FROM logs.missing', 'logs.missing'),
  T('SELECT * FROM information_schema.tables', 'information_schema.tables'),
  T('SELECT * FROM duckdb_tables', 'duckdb_tables'),
  T('SELECT * FROM pg_catalog.pg_class', 'pg_catalog.pg_class'),
  T('SELECT * FROM sqlite_master', 'sqlite_master'),
  T('SELECT * FROM main.mem_table', 'main.mem_table'),
  T('SELECT * FROM mem_table', 'mem_table'),
  T('WITH app AS (SELECT * FROM information_schema.tables) SELECT * FROM app', 'information_schema.tables'),
  T('WITH c1 AS (SELECT 1) SELECT * FROM main.c1', 'main.c1'),
  T('WITH c1 AS (SELECT * FROM c1) SELECT * FROM c1', 'c1'), // not recursive: the inner c1 is the catalog's
  T('WITH c1 AS (SELECT * FROM c2), c2 AS (SELECT 1) SELECT * FROM c1', 'c2'), // no forward references
  T('WITH RECURSIVE c1(n) AS (SELECT n FROM c1 UNION ALL SELECT n + 1 FROM c1) SELECT * FROM c1', 'c1'), // anchor sees no self
  T('SELECT (WITH c1 AS (SELECT 1) SELECT 1), (SELECT * FROM c1)', 'c1'), // a subquery's CTE does not leak out
  T('SELECT * FROM logs.app AS duckdb_settings, duckdb_settings', 'duckdb_settings'),
  T('SELECT * FROM "lo""gs".app', 'lo"gs.app'),
  T('SELECT * FROM logs.\u0430pp', 'logs.\u0430pp'), // Cyrillic a
  T('SELECT * FROM l\u043egs.app', 'l\u043egs.app'), // Cyrillic o
  T('SELECT * FROM logs.\u212Apu', 'logs.\u212Apu'), // Kelvin sign lower-cases to k in JS, not in DuckDB
  T('SELECT * FROM memory.logs.app', 'memory.logs.app'),
  F(`SELECT getenv('HOME')`, 'function getenv() is not allowed'),
  F(`SELECT current_setting('allowed_directories')`, 'function current_setting() is not allowed'),
  F(
    `SELECT * FROM logs.app WHERE body = (SELECT content FROM read_text('/etc/passwd'))`,
    'table function read_text()',
  ),
  F(`SELECT * FROM logs.app a, LATERAL read_csv('/etc/passwd')`, 'table function read_csv()'),
  F(
    `SELECT body FROM logs.app UNION SELECT content FROM read_text('/etc/passwd')`,
    'table function read_text()',
  ),
  F(`SELECT * FROM (SELECT * FROM (SELECT * FROM read_blob('/etc/shadow')))`, 'table function read_blob()'),
  F(`SELECT regexp_matches(content, 'root') FROM read_text('/etc/passwd')`, 'table function read_text()'),
  F(`SELECT list_transform([1], x -> getenv('HOME'))`, 'function getenv()'),
  F(`SELECT sum(ts) OVER (ORDER BY current_setting('threads')) FROM logs.app`, 'function current_setting()'),
  F(`SELECT count(*) FILTER (WHERE getenv('x') = '') FROM logs.app`, 'function getenv()'),
  F(`WITH c AS (SELECT json_serialize_sql('SELECT 1')) SELECT * FROM c`, 'function json_serialize_sql()'),
  F(`SELECT main.read_text('x')`, 'function read_text()'),
  F(`SELECT pg_catalog.current_schema()`, 'function pg_catalog.current_schema is not allowed'),
  F(`SELECT system.main.version()`, 'function system.main.version is not allowed'),
  F(`SELECT nextval('s')`, 'function nextval()'),
  F(`SELECT read_text('/etc/passwd')`, 'function read_text()'),
  F(`SELECT * FROM logs.app WHERE body = read_blob('/data/other-org/x.parquet')`, 'function read_blob()'),
  F(`SELECT "GETENV"('HOME')`, 'function getenv()'), // the parser folds function names
  F('DESCRIBE logs.app', 'DESCRIBE, SHOW and SUMMARIZE are not allowed'),
  F('SHOW TABLES', 'DESCRIBE, SHOW and SUMMARIZE are not allowed'),
  F('SUMMARIZE logs.app', 'DESCRIBE, SHOW and SUMMARIZE are not allowed'),
  F('SELECT * FROM logs.app AT (VERSION => 1)', 'AT (...) time travel is not allowed'),
  F('SELECT $1', 'query parameters'),
  F('WITH q_logs__app AS (SELECT 1) SELECT * FROM logs.app', 'WITH name "q_logs__app" is reserved'),
];

void describe('validateAndRewrite: rejected payloads (RELIABILITY T1)', () => {
  for (const [name, sql, status, text] of rejected) {
    void it(name.replace(/\s+/g, ' ').slice(0, 90), async () => {
      await assert.rejects(validateAndRewrite(conn, sql, streams, relationName), (e: unknown) => {
        assert.ok(e instanceof MoleError, String(e));
        assert.equal(e.status, status, e.message);
        assert.equal(e.code, status === 400 ? 'MS_ERR_SQL_TABLE' : 'MS_ERR_SQL_FORBIDDEN');
        assert.equal(e.reason, 'sql_rejected');
        assert.ok(e.message.includes(text), `${e.message} should include ${text}`);
        if (status === 400) assert.equal(e.message, text); // identical to a missing table
        return true;
      });
    });
  }

  const bad: [string, string, string][] = [
    ['x'.repeat(16 * 1024 + 1), 'MS_ERR_QUERY_TOO_LONG', 'over the limit of 16384 bytes'],
    [
      'SELECT 1 FROM logs.app WHERE body = ' + `'${'é'.repeat(100)}'`,
      'MS_ERR_QUERY_TOO_LONG',
      'over the limit of 64 bytes',
    ],
    ['SELEC 1', 'MS_ERR_SQL_PARSE', 'syntax error at or near "SELEC" (at character 0)'],
    ['SELECT * FROM', 'MS_ERR_SQL_PARSE', 'at end of input'],
    ['  -- only a comment', 'MS_ERR_SQL_PARSE', 'SQL is empty'],
    ['SELECT 1 \0; ATTACH', 'MS_ERR_SQL_PARSE', 'NUL character at offset 9'],
    ['SELECT ' + 'abs('.repeat(1100) + '1' + ')'.repeat(1100), 'MS_ERR_SQL_PARSE', 'Max expression depth'],
    [
      'SELECT * FROM ' + '(SELECT * FROM '.repeat(400) + 'logs.app' + ')'.repeat(400),
      'MS_ERR_QUERY_TOO_LONG',
      'levels deep',
    ],
  ];
  for (const [sql, code, text] of bad) {
    void it(`${code}: ${sql.slice(0, 40)}`, async () => {
      const opts = text.includes('64 bytes') ? { maxSqlBytes: 64 } : {};
      await assert.rejects(validateAndRewrite(conn, sql, streams, relationName, opts), (e: unknown) => {
        assert.ok(e instanceof MoleError && e.status === 400 && e.code === code, String(e));
        assert.ok(e.message.includes(text), e.message);
        return true;
      });
    });
  }
});

void describe('isDeniedFunction', () => {
  const denied = [
    'read_csv',
    'READ_TEXT',
    'duckdb_settings',
    'pragma_version',
    'parquet_schema',
    'sqlite_scan',
    'pg_get_viewdef',
    'icu_sort_key',
    'glob',
    'getenv',
    'current_setting',
    'current_schema',
    'current_schemas',
    'current_database',
    'current_catalog',
    'query',
    'query_table',
    'sniff_csv',
    'which_secret',
    'load',
    'install',
    'enable_profiling',
    'set_bit',
    'system',
    'shell',
    'export_database',
    'import_database',
    'checkpoint',
    'force_checkpoint',
    'make_secret',
    'has_table_privilege',
    'json_serialize_sql',
    'json_deserialize_sql',
    'json_execute_serialized_sql',
    'getvariable',
    'setvariable',
    'nextval',
  ];
  const allowed = [
    'typeof',
    'count',
    'regexp_matches',
    'json_extract',
    'date_trunc',
    'list_value',
    'upper',
    'strftime',
    'readfile',
    'globally',
    'has_any',
    'loaded',
  ];
  for (const n of denied) void it(`denies ${n}`, () => assert.equal(isDeniedFunction(n), true));
  for (const n of allowed) void it(`allows ${n}`, () => assert.equal(isDeniedFunction(n), false));
});

void describe('property: never accepts a forbidden table or function (RELIABILITY F3)', () => {
  const allowedTable = fc.constantFrom('logs.app', 'logs.web', 'traces.checkout', 'metrics.cpu', 'LOGS.App');
  const forbiddenTable = fc.constantFrom(
    'logs.other_org',
    'information_schema.tables',
    'main.decoy',
    'decoy',
    'mem_table',
    `'x.parquet'`,
    '"/etc/passwd"',
    'memory.logs.app',
    'pg_catalog.pg_class',
    'sqlite_master',
    'duckdb_tables',
    '"lo""gs".app',
    'logs.\u0430pp',
    'logs.app AT (VERSION => 1)',
    `read_text('/etc/passwd')`,
    'duckdb_settings()',
    `glob('*')`,
    'range(3)',
    `query('SELECT 1')`,
  );
  const cteName = fc.constantFrom('c1', 'c2', 'app', 'decoy');
  const cond = (src: fc.Arbitrary<string>) =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          't1.ts > 0',
          `t1.body LIKE '%a%'`,
          'list_transform([1], x -> x + 1) IS NOT NULL',
        ),
      },
      fc.constantFrom(
        `getenv('HOME') IS NULL`,
        `current_setting('threads') = '1'`,
        `json_serialize_sql('SELECT 1') IS NULL`,
        't1.ts = $1',
        `"read_text"('x') IS NULL`,
      ),
      src.map((s) => `EXISTS (SELECT 1 FROM ${s} e)`),
      src.map((s) => `t1.ts IN (SELECT ts FROM ${s} i)`),
    );
  const query: (depth: number) => fc.Arbitrary<string> = (depth) => {
    const leaf = [
      { weight: 8, arbitrary: allowedTable },
      { weight: 1, arbitrary: forbiddenTable },
      { weight: 3, arbitrary: cteName },
    ];
    const src: fc.Arbitrary<string> =
      depth <= 0
        ? fc.oneof(...leaf)
        : fc.oneof(...leaf, { weight: 2, arbitrary: query(depth - 1).map((q) => `(${q})`) });
    const select = fc
      .tuple(src, fc.option(src), fc.option(cond(src)))
      .map(
        ([a, b, w]) =>
          `SELECT t1.ts, t1.body FROM ${a} t1${b === null ? '' : ` JOIN ${b} t2 ON t1.ts = t2.ts`}${w === null ? '' : ` WHERE ${w}`}`,
      );
    if (depth <= 0) return select;
    const inner = query(depth - 1);
    return fc.oneof(
      { weight: 3, arbitrary: select },
      fc
        .tuple(cteName, inner, fc.option(fc.tuple(cteName, inner)), inner)
        .map(
          ([n, q, more, body]) =>
            `WITH ${n} AS (${q})${more === null ? '' : `, ${more[0]} AS (${more[1]})`} ${body}`,
        ),
      fc
        .tuple(cteName, src, inner)
        .map(
          ([n, anchor, body]) =>
            `WITH RECURSIVE ${n}(ts, body) AS (SELECT ts, body FROM ${anchor} UNION ALL SELECT ts + 1, body FROM ${n} WHERE ts < 3) ${body}`,
        ),
      fc.tuple(inner, inner).map(([a, b]) => `${a} UNION ALL ${b}`),
    );
  };
  const statement = fc.oneof(
    { weight: 12, arbitrary: query(2) },
    fc
      .tuple(
        query(1),
        fc.constantFrom(
          `ATTACH 'x.db'`,
          'SELECT 2',
          `COPY logs.app TO 'x'`,
          'PRAGMA version',
          '/* ; */',
          '-- ;\n',
          'SET threads = 1',
        ),
      )
      .map(([q, s]) => `${q}; ${s}`),
    fc
      .tuple(fc.constantFrom('/* ; ATTACH */ ', '-- x\n', 'DESCRIBE ', 'EXPLAIN ', '   '), query(1))
      .map(([p, q]) => p + q),
  );

  void it('accepted statements touch only allowed streams and CTEs; errors are MoleErrors; rewritten SQL never reads a decoy', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(statement, async (sql) => {
        let result;
        try {
          result = await validateAndRewrite(conn, sql, streams, relationName);
        } catch (e) {
          assert.ok(
            e instanceof MoleError && (e.status === 400 || e.status === 403),
            `${sql} threw ${String(e)}`,
          );
          return;
        }
        accepted++;
        const ast = await serialize(sql);
        assert.equal(ast.error, false);
        assert.equal(ast.statements.length, 1, sql);
        const c = collect(sql, ast);
        assert.deepEqual(c.tableFns, [], sql);
        assert.ok(!c.classes.has('PARAMETER'), sql);
        for (const [catalog, schema, table, at] of c.baseTables) {
          const ok =
            catalog === '' &&
            at === '' &&
            (schema === ''
              ? c.ctes.has(table!.toLowerCase())
              : STREAMS.has(`${schema!.toLowerCase()}.${table!.toLowerCase()}`));
          assert.ok(ok, `${sql} reads ${catalog}.${schema}.${table}`);
        }
        for (const [catalog, schema, name] of c.fns) {
          assert.ok(
            catalog === '' && (schema === '' || schema === 'main') && !ORACLE_DENIED.includes(name!),
            `${sql} calls ${name}`,
          );
        }
        await assertOnlyRelations(result.rewrittenSql);
        try {
          await conn.runAndReadAll(result.rewrittenSql);
        } catch (e) {
          assert.ok(
            !String(e).includes('LEAK'),
            `${sql} → ${result.rewrittenSql} read a decoy: ${String(e)}`,
          );
        }
      }),
      { numRuns: 1000 },
    );
    assert.ok(
      accepted > 20,
      `only ${accepted} generated statements were accepted; the grammar is too hostile`,
    );
  });

  void it('arbitrary text never throws anything but a MoleError', async () => {
    const sqlish = fc.array(
      fc.oneof(
        fc.constantFrom(
          'SELECT',
          'FROM',
          'WITH',
          'logs.app',
          '(',
          ')',
          ',',
          ';',
          "'",
          '"',
          '--',
          '/*',
          '*/',
          '*',
          'x',
          '1',
          'AS',
          'JOIN',
          'read_text(',
          '\0',
          '\u0430',
        ),
        fc.string(),
      ),
      { maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(sqlish, async (parts) => {
        try {
          await validateAndRewrite(conn, parts.join(' '), streams, relationName);
        } catch (e) {
          assert.ok(e instanceof MoleError && e.status < 500, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});
