/**
 * DuckDB's parsed-SQL JSON (`json_serialize_sql`, DuckDB 1.5) and a deny-by-default walk over it.
 *
 * Invariant: the walk visits every object of the tree, so a relation can only be read through a
 * table reference it has seen. Each BASE_TABLE is resolved with DuckDB's own CTE scoping (checked
 * against real binding with decoy views, see sql-validator.test.ts) and handed to the caller unless
 * it names a CTE in scope; JOIN, SUBQUERY, VALUES, PIVOT and EMPTY are containers; every other
 * table reference (TABLE_FUNCTION, SHOW_REF, ...) is rejected. Every FUNCTION and WINDOW name is
 * checked against the deny-list. Node types and expression classes this file does not know are
 * rejected, so a DuckDB upgrade that adds a new way to read data fails closed.
 */
import { MoleError } from '../lib/errors.ts';

export type AstObject = Record<string, unknown>;
export interface TableName {
  catalog: string;
  schema: string;
  table: string;
}
/** Called for every BASE_TABLE that is not a CTE in scope; throws to reject it. */
export type OnTable = (ref: AstObject, name: TableName) => void;

export const sqlForbidden = (message: string, cause?: unknown) =>
  new MoleError(message, { code: 'MS_ERR_SQL_FORBIDDEN', status: 403, reason: 'sql_rejected', cause });

/** One text for "does not exist" and "you may not read it" (no existence oracle). */
export const sqlTableNotFound = (name: TableName) => {
  const asWritten = [name.catalog, name.schema, name.table].filter((p) => p !== '').join('.');
  return new MoleError(`table "${clip(asWritten)}" not found or not accessible`, {
    code: 'MS_ERR_SQL_TABLE',
    status: 400,
    reason: 'sql_rejected',
  });
};

export const sqlTooComplex = (message: string) =>
  new MoleError(message, { code: 'MS_ERR_QUERY_TOO_LONG', status: 400, reason: 'bad_request' });

/** User text in messages: one line, bounded. */
export function clip(text: string, maxChars = 128): string {
  // eslint-disable-next-line no-control-regex
  const oneLine = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return oneLine.length > maxChars ? `${oneLine.slice(0, maxChars)}…` : oneLine;
}

/** DuckDB folds identifiers with ASCII rules only; `toLowerCase` would map the Kelvin sign to `k`. */
export const lowerAscii = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

const DENIED_PREFIXES = [
  'read_',
  'duckdb_',
  'pragma_',
  'parquet_',
  'sqlite_',
  'pg_',
  'icu_',
  'enable_',
  'set_', // also blocks the harmless set_bit(); simpler than an exception list
  'export_',
  'import_',
  'json_serialize_', // no AST access for users
  'json_deserialize_',
  'json_execute_', // json_execute_serialized_sql runs SQL
];
const DENIED_NAMES = new Set([
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
  'make_secret',
  'load',
  'install',
  'system',
  'shell',
  'checkpoint',
  'force_checkpoint',
  'getvariable',
  'setvariable',
  'nextval', // sequences: catalog state, and nextval writes
  'currval',
  'in_search_path', // pg-compat catalog probes
  'col_description',
  'obj_description',
  'shobj_description',
  'format_type',
]);

/** True for functions users may not call: file, catalog, settings, extension and AST access. */
export function isDeniedFunction(name: string): boolean {
  const n = lowerAscii(name);
  return DENIED_NAMES.has(n) || DENIED_PREFIXES.some((p) => n.startsWith(p)) || /^has_.*_privilege$/.test(n);
}

// Parser-produced classes only (no bound expressions). PARAMETER is handled on its own.
const EXPRESSION_CLASSES = new Set([
  'BETWEEN',
  'CASE',
  'CAST',
  'COLLATE',
  'COLUMN_REF',
  'COMPARISON',
  'CONJUNCTION',
  'CONSTANT',
  'FUNCTION',
  'LAMBDA',
  'LAMBDA_REF',
  'OPERATOR',
  'POSITIONAL_REFERENCE',
  'STAR',
  'SUBQUERY',
  'WINDOW',
]);
// Every TableReferenceType DuckDB serializes; the handled ones are listed in `tableRef`.
const TABLE_REF_TYPES = new Set([
  'INVALID',
  'BASE_TABLE',
  'SUBQUERY',
  'JOIN',
  'TABLE_FUNCTION',
  'EXPRESSION_LIST',
  'CTE',
  'EMPTY',
  'EMPTY_FROM',
  'PIVOT',
  'SHOW_REF',
  'COLUMN_DATA',
  'DELIM_GET',
  'BOUND_TABLE_REF',
]);

export const isObj = (v: unknown): v is AstObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw sqlForbidden(`unsupported SQL: ${what} is not a name`);
  return v;
};
const unsupported = (what: string) =>
  sqlForbidden(`unsupported SQL construct ${clip(what, 40)}; only SELECT queries over streams are allowed`);

type Scope = ReadonlySet<string>;
const withName = (scope: Scope, name: string): Scope => new Set([...scope, name]);

class Walker {
  /** every CTE name defined anywhere in the statement (lower-case) */
  readonly cteNames = new Set<string>();
  constructor(private readonly onTable: OnTable) {}

  any(v: unknown, scope: Scope): void {
    if (Array.isArray(v)) {
      for (const item of v) this.any(item, scope);
      return;
    }
    if (!isObj(v)) return;
    if ('class' in v) {
      this.expression(v, scope);
    } else if ('node' in v) {
      this.queryNode(v.node, scope); // a statement: { node, named_param_map }
      this.fields(v, scope, ['node']);
    } else if (typeof v.type === 'string' && v.type.endsWith('_NODE')) {
      this.queryNode(v, scope);
    } else if (typeof v.type === 'string' && TABLE_REF_TYPES.has(v.type)) {
      this.tableRef(v, scope);
    } else if ('table_name' in v || 'function_name' in v || 'function' in v) {
      throw unsupported(typeof v.type === 'string' ? v.type : 'object'); // a reference we cannot classify
    } else {
      this.fields(v, scope);
    }
  }

  private fields(o: AstObject, scope: Scope, skip: readonly string[] = []): void {
    for (const [key, value] of Object.entries(o)) {
      if (value !== null && typeof value === 'object' && !skip.includes(key)) this.any(value, scope);
    }
  }

  private expression(e: AstObject, scope: Scope): void {
    const cls = str(e.class, 'expression class');
    if (cls === 'PARAMETER')
      throw sqlForbidden('query parameters ($1, ?, $name) are not supported; inline the values');
    if (!EXPRESSION_CLASSES.has(cls)) throw unsupported(cls);
    if ('function_name' in e) checkFunction(e);
    this.fields(e, scope);
  }

  queryNode(n: unknown, scope: Scope): void {
    if (!isObj(n)) throw unsupported('query');
    switch (n.type) {
      case 'SELECT_NODE': {
        const inner = this.withCtes(n, scope);
        this.tableRef(n.from_table, inner);
        this.fields(n, inner, ['cte_map', 'from_table']);
        return;
      }
      case 'SET_OPERATION_NODE':
      case 'RECURSIVE_CTE_NODE': // outside a CTE body its own name is not visible: strict
        this.fields(n, this.withCtes(n, scope), ['cte_map']);
        return;
      default:
        throw unsupported(typeof n.type === 'string' ? n.type : 'query');
    }
  }

  /**
   * DuckDB scoping, verified against real binding: CTE i sees CTEs 0..i-1 of its WITH and the outer
   * scopes, never itself or later ones (those names fall through to the catalog). A recursive CTE sees
   * itself only in the recursive (right) side of its RECURSIVE_CTE_NODE. The node's own select list,
   * FROM, WHERE and modifiers (ORDER BY, LIMIT) see all of them.
   */
  private withCtes(node: AstObject, scope: Scope): Scope {
    const cteMap = node.cte_map;
    if (cteMap === undefined || cteMap === null) return scope;
    if (!isObj(cteMap) || !Array.isArray(cteMap.map)) throw unsupported('WITH');
    let visible = scope;
    for (const entry of cteMap.map as unknown[]) {
      if (!isObj(entry) || !isObj(entry.value)) throw unsupported('WITH');
      const name = lowerAscii(str(entry.key, 'CTE name'));
      this.cteNames.add(name);
      this.cteBody(entry.value, name, visible);
      visible = withName(visible, name);
    }
    this.fields(cteMap, scope, ['map']);
    return visible;
  }

  private cteBody(def: AstObject, name: string, scope: Scope): void {
    const stmt = def.query;
    if (!isObj(stmt) || !isObj(stmt.node)) throw unsupported('WITH');
    const node = stmt.node;
    if (
      node.type === 'RECURSIVE_CTE_NODE' &&
      typeof node.cte_name === 'string' &&
      lowerAscii(node.cte_name) === name
    ) {
      const inner = this.withCtes(node, scope);
      this.queryNode(node.left, inner);
      this.queryNode(node.right, withName(inner, name));
      this.fields(node, inner, ['cte_map', 'left', 'right']);
      this.fields(stmt, scope, ['node']);
    } else {
      this.any(stmt, scope);
    }
    this.fields(def, scope, ['query']); // aliases, key_targets (USING KEY)
  }

  private tableRef(r: unknown, scope: Scope): void {
    if (!isObj(r)) throw unsupported('FROM item');
    switch (r.type) {
      case 'BASE_TABLE': {
        if (r.at_clause !== null && r.at_clause !== undefined)
          throw sqlForbidden('AT (...) time travel is not allowed');
        const name = {
          catalog: str(r.catalog_name ?? '', 'catalog'),
          schema: str(r.schema_name ?? '', 'schema'),
          table: str(r.table_name, 'table'),
        };
        const isCte = name.catalog === '' && name.schema === '' && scope.has(lowerAscii(name.table));
        if (!isCte) this.onTable(r, name);
        this.fields(r, scope);
        return;
      }
      case 'JOIN':
        this.tableRef(r.left, scope);
        this.tableRef(r.right, scope);
        this.fields(r, scope, ['left', 'right']);
        return;
      case 'PIVOT':
        // pivot_enum names a catalog ENUM type (set by the PIVOT statement, which is not a SELECT)
        for (const p of Array.isArray(r.pivots) ? (r.pivots as unknown[]) : []) {
          if (isObj(p) && p.pivot_enum !== '' && p.pivot_enum !== undefined) throw unsupported('PIVOT ENUM');
        }
        this.tableRef(r.source, scope);
        this.fields(r, scope, ['source']);
        return;
      case 'SUBQUERY':
      case 'EXPRESSION_LIST':
      case 'EMPTY':
        this.fields(r, scope);
        return;
      case 'TABLE_FUNCTION': {
        const fn =
          isObj(r.function) && typeof r.function.function_name === 'string' ? r.function.function_name : '?';
        throw sqlForbidden(
          `table function ${clip(fn, 40)}() is not allowed; read streams as logs.<stream>, traces.<stream> or metrics.<stream>`,
        );
      }
      case 'SHOW_REF':
        throw sqlForbidden('DESCRIBE, SHOW and SUMMARIZE are not allowed; query the stream with SELECT');
      default:
        throw unsupported(typeof r.type === 'string' ? r.type : 'FROM item');
    }
  }
}

function checkFunction(e: AstObject): void {
  const name = str(e.function_name, 'function');
  const schema = lowerAscii(str(e.schema ?? '', 'function schema'));
  const catalog = str(e.catalog ?? '', 'function catalog');
  // The parser itself qualifies some built-ins with `main` ([1,2] is main.list_value, EXTRACT is
  // main.date_part, SUBSTRING, TRIM, struct literals, list comprehensions), so `main` must pass.
  if (catalog !== '' || (schema !== '' && schema !== 'main')) {
    throw sqlForbidden(
      `function ${clip([catalog, schema, name].filter((p) => p !== '').join('.'), 80)} is not allowed; call functions without a schema`,
    );
  }
  if (isDeniedFunction(name)) throw sqlForbidden(`function ${clip(name, 40)}() is not allowed in queries`);
}

/** Walks one serialized statement (`{ node, named_param_map }`); returns the CTE names it defines. */
export function walkSelectStatement(stmt: unknown, onTable: OnTable): { cteNames: ReadonlySet<string> } {
  if (!isObj(stmt) || !isObj(stmt.node)) throw unsupported('statement');
  const walker = new Walker(onTable);
  walker.any(stmt, new Set());
  return { cteNames: walker.cteNames };
}

/*
 * Lossless JSON. The AST carries integers past 2^53 (BIGINT constants such as nanosecond timestamps,
 * hugeint halves, query_location = UINT64_MAX), which JSON.parse rounds; json_deserialize_sql then
 * rejects the result or prints a different constant. Every number whose text would not survive a
 * double round trip is wrapped in an object on the way in and unwrapped textually on the way out.
 * The wrapper pattern needs unescaped quotes, so it cannot occur inside a JSON string.
 */
const RAW_NUMBER_KEY = '$ms_raw_number';
const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[{}[\]]/g;
const RAW_NUMBER = /\{"\$ms_raw_number":"(-?[\d.eE+-]+)"\}/g;

/** Parses AST JSON losslessly; rejects nesting deeper than `maxDepth` (the walk recurses). */
export function parseAstJson(text: string, maxDepth: number): unknown {
  let depth = 0;
  let maxSeen = 0;
  const wrapped = text.replace(JSON_TOKEN, (tok) => {
    const c = tok[0];
    if (c === '"') return tok;
    if (c === '{' || c === '[') {
      maxSeen = Math.max(maxSeen, ++depth);
      return tok;
    }
    if (c === '}' || c === ']') {
      depth--;
      return tok;
    }
    return String(Number(tok)) === tok ? tok : `{"${RAW_NUMBER_KEY}":"${tok}"}`;
  });
  if (maxSeen > maxDepth) {
    throw sqlTooComplex(
      `query nests ${maxSeen} levels deep in DuckDB's AST, over the limit of ${maxDepth}; simplify it`,
    );
  }
  return JSON.parse(wrapped) as unknown;
}

export const stringifyAstJson = (ast: unknown): string => JSON.stringify(ast).replace(RAW_NUMBER, '$1');
