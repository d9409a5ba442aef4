/**
 * User SQL (`POST /api/{org}/_search`) → one validated SELECT over the org's own streams, rewritten to
 * the connection's relation names. DESIGN.md decision 8, RELIABILITY.md T1/T2/F3.
 *
 * Invariant: the returned SQL is exactly one SELECT whose every non-CTE table reference is a relation
 * name returned by `relationName` for a stream that `streams.has` accepted; it calls no table
 * function and no denied function. The rewritten text is parsed and walked again before it is
 * returned, so a quirk of json_deserialize_sql cannot smuggle anything past the check. This layer
 * and the DuckDB sandbox (allowed_directories, enable_external_access=false, lock_configuration)
 * must each hold alone.
 *
 * Known limit: only table references are rewritten. Column references qualified with the schema
 * (`logs.app.body`, `logs.app.*`) no longer bind after the rewrite; `app.body` and the user's own
 * aliases do, because each stream keeps its alias or gets its stream name as alias. Two unaliased
 * streams with the same name in one FROM (`logs.app, traces.app`) both become `AS app`, which DuckDB
 * rejects as a duplicate alias; the user has to alias them.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { MoleError } from '../lib/errors.ts';
import {
  clip,
  isObj,
  lowerAscii,
  parseAstJson,
  sqlForbidden,
  sqlTableNotFound,
  sqlTooComplex,
  stringifyAstJson,
  walkSelectStatement,
  type AstObject,
  type TableName,
} from './sql-ast.ts';

export { isDeniedFunction } from './sql-ast.ts';

export type StreamType = 'logs' | 'traces' | 'metrics';
export interface StreamCatalogView {
  has(streamType: StreamType, stream: string): boolean;
}
export interface ValidatedQuery {
  /** every stream the query reads, deduplicated */
  tables: { streamType: StreamType; stream: string }[];
  /** SQL text with every stream reference replaced by the relation name that `relationName` returned
   * (keeps the user's alias, or uses the stream name as alias so `app.body` still works) */
  rewrittenSql: string;
}
export interface ValidateOptions {
  /** default 16 KiB; checked before DuckDB sees the text */
  maxSqlBytes?: number;
}

export const DEFAULT_MAX_SQL_BYTES = 16 * 1024;
/** JSON nesting of DuckDB's AST; ~3 levels per nested subquery, realistic queries stay under 100. */
const MAX_AST_DEPTH = 1000;
const STREAM_TYPES: ReadonlySet<string> = new Set<StreamType>(['logs', 'traces', 'metrics']);

const parseError = (message: string) =>
  new MoleError(message, { code: 'MS_ERR_SQL_PARSE', status: 400, reason: 'bad_request' });
const engineError = (what: string, cause: unknown) =>
  new MoleError(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, {
    code: 'MS_ERR_SQL_ENGINE',
    status: 500,
    reason: 'internal',
    retryable: true,
    cause,
  });

export async function validateAndRewrite(
  conn: DuckDBConnection,
  sql: string,
  streams: StreamCatalogView,
  relationName: (streamType: StreamType, stream: string) => string,
  opts: ValidateOptions = {},
): Promise<ValidatedQuery> {
  const maxSqlBytes = opts.maxSqlBytes ?? DEFAULT_MAX_SQL_BYTES;
  const sqlBytes = Buffer.byteLength(sql, 'utf8');
  if (sqlBytes > maxSqlBytes) {
    throw sqlTooComplex(
      `SQL is ${sqlBytes} bytes, over the limit of ${maxSqlBytes} bytes; shorten the query`,
    );
  }
  const root = await parseOneSelect(conn, sql);

  const tables = new Map<string, { streamType: StreamType; stream: string }>();
  const streamRefs: { ref: AstObject; relation: string }[] = [];
  const { cteNames } = walkSelectStatement(root.statement, (ref, name) => {
    const schema = lowerAscii(name.schema);
    const stream = lowerAscii(name.table);
    if (name.catalog !== '' || !STREAM_TYPES.has(schema)) throw sqlTableNotFound(name);
    const streamType = schema as StreamType;
    if (!streams.has(streamType, stream)) throw sqlTableNotFound(name);
    tables.set(`${streamType}.${stream}`, { streamType, stream });
    streamRefs.push({ ref, relation: relationName(streamType, stream) });
  });

  const relations = new Set<string>();
  for (const { ref, relation } of streamRefs) {
    if (typeof ref.alias !== 'string' || ref.alias === '') ref.alias = ref.table_name;
    ref.catalog_name = '';
    ref.schema_name = '';
    ref.table_name = relation;
    relations.add(lowerAscii(relation));
  }
  // A CTE with a relation's name would shadow the relation after the rewrite.
  for (const name of cteNames) {
    if (relations.has(name)) throw sqlForbidden(`WITH name "${clip(name, 64)}" is reserved; rename it`);
  }

  const rewrittenSql = await deserialize(conn, stringifyAstJson(root.whole));
  await recheckRewritten(conn, rewrittenSql, relations);
  return { tables: [...tables.values()], rewrittenSql };
}

/** Parses with DuckDB's own parser; returns the single SELECT statement or throws a MoleError. */
async function parseOneSelect(
  conn: DuckDBConnection,
  sql: string,
): Promise<{ whole: AstObject; statement: AstObject }> {
  // The text reaches DuckDB's parser as a C string: everything after a NUL would be cut off.
  const nul = sql.indexOf('\0');
  if (nul >= 0) throw parseError(`SQL contains a NUL character at offset ${nul}; remove it`);
  let text: unknown;
  try {
    const reader = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    text = reader.getRows()[0]?.[0];
  } catch (e) {
    throw engineError('could not parse SQL', e);
  }
  if (typeof text !== 'string')
    throw engineError('could not parse SQL', 'json_serialize_sql returned no text');
  const whole = parseAstJson(text, MAX_AST_DEPTH);
  if (!isObj(whole)) throw engineError('could not parse SQL', 'unexpected json_serialize_sql output');
  if (whole.error === true) throw classifyParseFailure(whole);
  const statements = Array.isArray(whole.statements) ? (whole.statements as unknown[]) : [];
  if (statements.length === 0) throw parseError('SQL is empty; send one SELECT statement');
  if (statements.length > 1) {
    throw sqlForbidden(`SQL holds ${statements.length} statements; send exactly one SELECT statement`);
  }
  const statement = statements[0];
  if (!isObj(statement)) throw engineError('could not parse SQL', 'unexpected json_serialize_sql output');
  return { whole, statement };
}

function classifyParseFailure(err: AstObject): MoleError {
  const message = typeof err.error_message === 'string' ? err.error_message : 'unknown error';
  // DuckDB answers every non-SELECT statement (alone or after a SELECT) with this text.
  if (err.error_type === 'not implemented' && message.startsWith('Only SELECT statements')) {
    return sqlForbidden(
      'only one SELECT statement is allowed (no COPY, ATTACH, PRAGMA, SET, INSTALL/LOAD, CALL, EXPLAIN, DDL or DML)',
    );
  }
  const position = typeof err.position === 'string' ? ` (at character ${err.position})` : '';
  return parseError(`SQL parse error: ${clip(message, 300)}${position}`);
}

async function deserialize(conn: DuckDBConnection, json: string): Promise<string> {
  let sql: unknown;
  try {
    const reader = await conn.runAndReadAll('SELECT json_deserialize_sql($1::VARCHAR)', [json]);
    sql = reader.getRows()[0]?.[0];
  } catch (e) {
    throw sqlForbidden('the query uses a construct that cannot be rewritten safely; simplify it', e);
  }
  if (typeof sql !== 'string')
    throw engineError('could not rewrite SQL', 'json_deserialize_sql returned no text');
  return sql;
}

/** Second, independent pass over the text we will execute: only our relation names may be read. */
async function recheckRewritten(
  conn: DuckDBConnection,
  sql: string,
  relations: ReadonlySet<string>,
): Promise<void> {
  try {
    const { statement } = await parseOneSelect(conn, sql);
    walkSelectStatement(statement, (_ref, name: TableName) => {
      if (name.catalog !== '' || name.schema !== '' || !relations.has(lowerAscii(name.table))) {
        throw sqlTableNotFound(name);
      }
    });
  } catch (e) {
    if (e instanceof MoleError && e.reason === 'internal') throw e;
    throw sqlForbidden('the query uses a construct that cannot be rewritten safely; simplify it', e);
  }
}
