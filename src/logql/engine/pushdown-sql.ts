/**
 * The SQL of the metric pushdown (engine/metric/pushdown-types.ts) for one logs stream: which rows
 * a pipeline keeps and the labels it leaves on them, as SQL expressions over the stream's columns,
 * or null when the pipeline has a stage SQL cannot apply exactly.
 *
 * Supported: line filters with string operands (anywhere: they only drop lines, so they commute
 * with the other supported stages); string label filters; one `| json` without parameters, with a
 * `by` grouping (the labels it needs are then known); `unwrap <label>` of a parsed field.
 *
 * `| json` is exact in SQL only on lines whose shape is proved simple; `simple` is that test per
 * row and the caller runs the other rows through the JS pipeline. A simple line is a JSON object
 * (`{` first) that DuckDB's parser accepts, with no backslash (no escapes: a string's JSON text is
 * its value), none of the constructs DuckDB accepts and Loki's parser does not (trailing commas,
 * NaN/Infinity), and, per needed label L, no key path but a top-level `"L"` whose flattened,
 * sanitised name is L: every such path has L's longest `_`-separated part S verbatim in one of its
 * keys, so S occurs nowhere but once, inside a top-level key `"L"` (or not at all).
 * Values: a string (not empty) is its text; true/false; an integer is its text when DuckDB's text
 * is the raw one (no `.`/`e`, and not `0` from `-0`); null and arrays set no label; other numbers
 * make the line not simple (DuckDB re-serialises doubles: `1.50` → `1.5`), except as unwrap values.
 * With an unwrap, a line without backslash and without S of the unwrapped label is simple too, JSON
 * or not: it gives no sample (a line without the label gives none, and has no other effect).
 */
import type { Grouping, LabelFilterExpr, Matcher, PipelineStage, UnwrapStage } from '../ast.ts';
import { compileMatcher } from '../pipeline/index.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL } from '../pipeline/labels.ts';
import { quoteIdent } from '../../memtable/memtable.ts';
import {
  lineFilterSql,
  lineSqlOf,
  matcherSql,
  metadataLabelSql,
  selectorSql,
  sqlString,
  streamLabelSql,
} from './sql.ts';
import type { StreamLabelColumns } from './labels-mapping.ts';
import { SHAPE_COLUMN, type ShapeSet } from '../../storage/json-columns.ts';

/** Any label that is not parsed, NULL when absent (Loki has no empty label values). */
function plainLabelSql(mapping: StreamLabelColumns, name: string): string {
  const stream = mapping.stream.get(name);
  if (stream) return `NULLIF(${streamLabelSql(stream)}, '')`;
  return metadataLabelSql(mapping, name);
}

export interface PushdownSql {
  /** WHERE terms every row must pass: matchers and line filters (cheap, before any JSON work) */
  where: string[];
  /**
   * With line filters over files that store JSON lines as columns: `where` for the rows that store
   * their line (no `_json_shape`, the filters on `body` alone) and for the split rows, read as two
   * branches of one UNION ALL (a branch reads no column it does not test).
   */
  whereStored?: string[];
  whereSplit?: string[];
  /** the pipeline's own test of a row in SQL, for the rows where `simple` holds */
  keep: string[];
  /**
   * `| json`: select lists computed one after the other over the rows that pass `where` (each
   * `SELECT *, <layer> FROM (...)`, see pushdownRowsSql), adding the columns `derived`: the
   * parsed values' JSON texts `__j1..` (NULL when absent), `__jok` (the line parsed), and for an
   * unwrap `__d`, its value as a DOUBLE, read by `simple`, `keep`, `labels` and `value`. One
   * column per value, each computed once: DuckDB does not share a repeated expression between
   * projections, and a split row's values are its columns (no list is built).
   */
  layers: string[];
  derived: string[];
  /** true on the rows whose result SQL computes exactly; the others go through the JS pipeline */
  simple: string;
  /** output label name → SQL value (NULL = no label) */
  labels: { name: string; sql: string }[];
  /** unwrap: the DOUBLE value, NULL = no sample */
  value: string | null;
}

const LENIENT_JSON = String.raw`,\s*[\]}]|[:,\[]\s*[-+]?(?i:nan|inf)`;

/** Labels an expression reads; null when it has a kind SQL does not handle. */
function filterNames(f: LabelFilterExpr, out: Set<string>): boolean {
  if (f.kind === 'binary') return filterNames(f.left, out) && filterNames(f.right, out);
  if (f.kind !== 'string') return false;
  out.add(f.matcher.name);
  return true;
}

function filterSql(f: LabelFilterExpr, value: (name: string) => string): string {
  if (f.kind === 'binary') {
    return `(${filterSql(f.left, value)} ${f.op.toUpperCase()} ${filterSql(f.right, value)})`;
  }
  if (f.kind !== 'string') throw new Error('unreachable: filterNames admits string filters only');
  const m: Matcher = f.matcher;
  if (m.name === ERROR_LABEL || m.name === ERROR_DETAILS_LABEL) {
    // the rows SQL answers for have no pipeline error
    return compileMatcher(m)('') ? 'true' : 'false';
  }
  return `(${matcherSql(m, `COALESCE(${value(m.name)}, '')`)})`;
}

/**
 * The longest `_`-separated part of a label name, when it occurs once in the name. (An occurrence
 * of it outside the quoted key cannot overlap the one inside, so `LIKE '%S%S%'` sees both.)
 */
function anchorPart(name: string): { part: string } | null {
  let best = '';
  for (const p of name.split('_')) if (p.length > best.length) best = p;
  if (best === '' || name.indexOf(best) !== name.lastIndexOf(best)) return null;
  return { part: best };
}

interface PlanRequest {
  pipeline: readonly PipelineStage[];
  matchers: readonly Matcher[];
  grouping: Grouping | null;
  unwrap?: UnwrapStage;
}

/**
 * The pushdown SQL for one stream's columns, or null when the request is outside what SQL does
 * exactly. `shapes`: the shapes of the JSON lines the read files store as columns
 * (storage/json-columns.ts); on those rows `| json` reads the columns, the body is not rebuilt.
 */
export function pushdownSql(
  req: PlanRequest,
  mapping: StreamLabelColumns,
  shapes: ShapeSet | null = null,
): PushdownSql | null {
  const split = shapes !== null && shapes.size > 0;
  const where = req.matchers.map((m) => selectorSql(m, mapping.stream.get(m.name)));
  /** the line filters on the stored `body` alone (the rows that store it) */
  const onStored = [...where, `${quoteIdent(SHAPE_COLUMN)} IS NULL`];
  const jsonAt = req.pipeline.findIndex((s) => s.type === 'Json');
  const parsed = jsonAt >= 0;
  const stages = req.pipeline;
  let lineFilters = 0;
  for (const s of stages) {
    if (s.type === 'LineFilter') {
      const sql = lineFilterSql(s, split ? lineSqlOf(shapes) : undefined);
      if (sql === null) return null;
      where.push(sql);
      onStored.push(lineFilterSql(s)!);
      lineFilters++;
    } else if (s.type === 'Json') {
      if (s.params.length > 0 || s !== stages[jsonAt]) return null;
    } else if (s.type !== 'LabelFilter') return null;
  }
  // Line filters over files with JSON columns: the rows that store their line (no shape) are
  // filtered on `body` alone, apart from the split rows (rebuilt lines): that branch reads no
  // json.* column, the other skips the row groups without split rows by their statistics.
  const byBody =
    split && lineFilters > 0
      ? { whereStored: onStored, whereSplit: [...where, `${quoteIdent(SHAPE_COLUMN)} IS NOT NULL`] }
      : {};
  const unwrap = req.unwrap;
  if (unwrap && (unwrap.conversion !== '' || !parsed)) return null;
  const postNames = new Set<string>();
  for (const f of unwrap?.postFilters ?? []) if (!filterNames(f, postNames)) return null;

  // The labels the result needs: every label without a parser, the grouping's with one.
  const needed = new Set<string>();
  const g = req.grouping;
  if (parsed) {
    if (g === null || g.without) return null;
    for (const n of g.labels) needed.add(n);
  } else {
    for (const n of mapping.stream.keys()) needed.add(n);
    for (const n of mapping.metadata.keys()) needed.add(n);
    if (g && !g.without) for (const n of [...needed]) if (!g.labels.includes(n)) needed.delete(n);
    if (g && g.without) for (const n of g.labels) needed.delete(n);
  }
  const filterLabels = new Set<string>(postNames);
  for (const s of stages) {
    if (s.type === 'LabelFilter' && !filterNames(s.filter, filterLabels)) return null;
  }
  needed.delete(ERROR_LABEL);
  needed.delete(ERROR_DETAILS_LABEL);
  filterLabels.delete(ERROR_LABEL);
  filterLabels.delete(ERROR_DETAILS_LABEL);

  if (!parsed) {
    const keep = stages
      .filter((s) => s.type === 'LabelFilter')
      .map((s) => filterSql(s.filter, (n) => plainLabelSql(mapping, n)));
    return {
      where,
      ...byBody,
      keep,
      layers: [],
      derived: [],
      simple: 'true',
      labels: [...needed].map((name) => ({ name, sql: plainLabelSql(mapping, name) })),
      value: null,
    };
  }

  // `| json`: the parsed labels read by grouping, filters and unwrap
  const jsonNames = [...new Set([...needed, ...filterLabels, ...(unwrap ? [unwrap.label] : [])])];
  for (const n of jsonNames) if (n.endsWith('_extracted') || n.startsWith('_')) return null;
  if (unwrap && (mapping.stream.has(unwrap.label) || mapping.metadata.has(unwrap.label))) return null;
  const guardTerms = [
    `starts_with(body, '{')`,
    `NOT contains(body, '\\')`,
    `NOT regexp_matches(body, ${sqlString(LENIENT_JSON)})`,
  ];
  const simple: string[] = ['__jok'];
  /** the same tests on a split row: flat, keys unique and column-like, values raw (no -0 issue) */
  const splitSimple: string[] = [];
  const jsonValue = new Map<string, string>();
  for (const [k, name] of jsonNames.entries()) {
    const anchor = anchorPart(name);
    if (anchor === null) return null;
    const e = `__j${k + 1}`;
    // S absent, or once (LIKE: no second S)
    // and inside a top-level key "L" (a nested "L" or a string "L" leaves __jk NULL)
    const part = sqlString(anchor.part);
    // a stream label of the line keeps its name: the key is then `<name>_extracted`, not read
    const stream = mapping.stream.get(name);
    const unless = stream ? `${streamLabelSql(stream)} <> '' OR ` : '';
    simple.push(
      `(${unless}NOT contains(body, ${part}) OR (contains(body, ${sqlString(`"${name}"`)}) AND ${e} IS NOT NULL AND NOT body LIKE ${sqlString(`%${anchor.part}%${anchor.part}%`)}))`,
    );
    if (unwrap && name === unwrap.label) {
      // a number gives its value (DuckDB's text of a double reads back to the same double);
      // a missing key, null or an array no sample; anything else (strings, booleans) goes to JS
      const term = `(isfinite(__d) OR ${e} IS NULL OR ${e}[1] IN ('n', '['))`;
      simple.push(term);
      splitSimple.push(term);
      continue;
    }
    simple.push(
      `(${unless}${e} IS NULL OR ${e} IN ('true', 'false', 'null') OR ${e}[1] = '[' OR (${e}[1] = '"' AND ${e} <> '""') OR ` +
        `(regexp_full_match(${e}, '-?[0-9]+') AND (${e} <> '0' OR NOT contains(body, '-0'))))`,
    );
    splitSimple.push(
      `(${unless}${e} IS NULL OR ${e} IN ('true', 'false', 'null') OR (${e}[1] = '"' AND ${e} <> '""') OR ` +
        `(regexp_full_match(${e}, '-?[0-9]+') AND ${e} <> '-0'))`,
    );
    jsonValue.set(
      name,
      `(CASE WHEN ${e} IS NULL OR ${e} = 'null' OR ${e}[1] = '[' THEN NULL WHEN ${e}[1] = '"' THEN ${e}[2:-2] ELSE ${e} END)`,
    );
  }
  const paths = jsonNames.map((n) => sqlString(`$."${n}"`));
  // A parsed value overrides metadata; a stream label of the line keeps its name (the key becomes
  // `<key>_extracted`, which no supported request reads).
  const labelSql = (name: string): string => {
    const j = jsonValue.get(name);
    if (j === undefined) return plainLabelSql(mapping, name);
    const stream = mapping.stream.get(name);
    const parts = [
      ...(stream ? [`NULLIF(${streamLabelSql(stream)}, '')`] : []),
      j,
      ...(mapping.metadata.has(name) ? [metadataLabelSql(mapping, name)] : []),
    ];
    return parts.length === 1 ? j : `COALESCE(${parts.join(', ')})`;
  };
  const keep: string[] = [];
  for (const s of stages.slice(0, jsonAt)) {
    if (s.type === 'LabelFilter') keep.push(filterSql(s.filter, (n) => plainLabelSql(mapping, n)));
  }
  for (const s of stages.slice(jsonAt + 1)) {
    if (s.type === 'LabelFilter') keep.push(filterSql(s.filter, labelSql));
  }
  let value: string | null = null;
  if (unwrap) {
    // on a simple row the unwrapped text is absent, null, an array (no sample) or a finite number
    value = `(CASE WHEN isfinite(__d) THEN __d END)`;
    for (const f of unwrap.postFilters) keep.push(filterSql(f, labelSql));
  }
  const json =
    paths.length > 0
      ? `TRY(json_extract(body, [${paths.join(', ')}]))::VARCHAR[]`
      : `CASE WHEN json_valid(body) THEN []::VARCHAR[] END`;
  const guard = guardTerms.join(' AND ');
  // split rows: the values from their columns; the others (body stored) from json_extract's list
  const isSplit = `${quoteIdent(SHAPE_COLUMN)} IS NOT NULL`;
  const values = jsonNames.map((n, k) =>
    split
      ? `CASE WHEN ${isSplit} THEN ${shapes.valueJsonSql(n)} ELSE __jl[${k + 1}] END AS __j${k + 1}`
      : `__jl[${k + 1}] AS __j${k + 1}`,
  );
  const layers = [
    `CASE WHEN ${split ? `NOT ${isSplit} AND ` : ''}${guard} THEN ${json} END AS __jl`,
    [...values, `${split ? `${isSplit} OR ` : ''}__jl IS NOT NULL AS __jok`].join(', '),
  ];
  const derived = ['__jl', ...jsonNames.map((_, k) => `__j${k + 1}`), '__jok'];
  if (unwrap) {
    layers.push(`TRY_CAST(__j${jsonNames.indexOf(unwrap.label) + 1} AS DOUBLE) AS __d`);
    derived.push('__d');
  }
  let bodySimple = simple.join(' AND ');
  if (unwrap) {
    // A line that cannot hold the unwrapped label gives no sample (nothing else of it counts),
    // whether it is JSON or not: no backslash and no S of the label (see above) in it.
    const part = sqlString(anchorPart(unwrap.label)!.part);
    bodySimple = `((${bodySimple}) OR (NOT contains(body, '\\') AND NOT contains(body, ${part})))`;
  }
  return {
    where,
    ...byBody,
    keep,
    simple: split
      ? `(CASE WHEN ${isSplit} THEN ${splitSimple.length > 0 ? splitSimple.join(' AND ') : 'true'} ELSE ${bodySimple} END)`
      : bodySimple,
    layers,
    derived,
    labels: [...needed].filter((n) => n !== unwrap?.label).map((name) => ({ name, sql: labelSql(name) })),
    value,
  };
}

/** The rows of a relation that pass `where`, with the pipeline's columns and the flag `__s` (a simple row). */
export function pushdownRowsSql(relation: string, sql: PushdownSql): string {
  const where = sql.where.length > 0 ? ` WHERE ${sql.where.join(' AND ')}` : '';
  const filtered =
    sql.whereStored && sql.whereSplit
      ? `SELECT * FROM (${relation}) WHERE ${sql.whereStored.join(' AND ')} UNION ALL SELECT * FROM (${relation}) WHERE ${sql.whereSplit.join(' AND ')}`
      : `SELECT * FROM (${relation})${where}`;
  if (sql.layers.length === 0) return `SELECT *, true AS __s FROM (${filtered})`;
  let rows = filtered;
  for (const layer of sql.layers) rows = `SELECT *, ${layer} FROM (${rows})`;
  return `SELECT *, COALESCE(${sql.simple}, false) AS __s FROM (${rows})`;
}

/** The rows SQL leaves to the pipeline, in the relation's columns. */
export function notSimpleRowsSql(relation: string, sql: PushdownSql): string {
  return `SELECT * EXCLUDE (${['__s', ...sql.derived].join(', ')}) FROM (${pushdownRowsSql(relation, sql)}) WHERE NOT __s`;
}
