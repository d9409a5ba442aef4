/**
 * LogQL → SQL over a logs stream's columns, the conventions every SQL path of the engine shares:
 * matchers on the `"resource.*"` columns of stream labels (Prometheus semantics), line filters as
 * `contains` / `regexp_matches` (DuckDB's regexps are RE2, as Go's), label values NULL when absent.
 */
import type { LineFilterStage, Matcher } from '../ast.ts';
import { quoteIdent } from '../../memtable/memtable.ts';
import type { StreamLabelColumns } from './labels-mapping.ts';

export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A stream label's value as SQL: the first non-empty of its columns, '' when none. */
export function streamLabelSql(columns: readonly string[] | undefined): string {
  if (!columns || columns.length === 0) return "''";
  return `COALESCE(${columns.map((c) => `NULLIF(${quoteIdent(c)}::VARCHAR, '')`).join(', ')}, '')`;
}

/** A stream selector matcher as SQL (Prometheus semantics: regexps fully anchored, `.` matches \n). */
export function matcherSql(m: Matcher, valueSql: string): string {
  switch (m.type) {
    case '=':
      return `${valueSql} = ${sqlString(m.value)}`;
    case '!=':
      return `${valueSql} <> ${sqlString(m.value)}`;
    case '=~':
      return `regexp_full_match(${valueSql}, ${sqlString(`(?s:${m.value})`)})`;
    case '!~':
      return `NOT regexp_full_match(${valueSql}, ${sqlString(`(?s:${m.value})`)})`;
  }
}

/** A regexp that is only an alternation of plain words: RE2 matches it fully as one of them. */
const WORDS = /^[A-Za-z0-9_:@/ -]+(\|[A-Za-z0-9_:@/ -]+)*$/;

/**
 * A stream selector matcher on the label's columns as SQL. On one column, `=` a value and `=~` an
 * alternation of words compare the column itself (`"col" = 'v'`, `"col" IN (...)`), which DuckDB
 * pushes into the Parquet scan: row groups of other streams are skipped by their statistics (a
 * logs file is sorted by its resource columns). The same rows as `matcherSql` on the label value.
 */
export function selectorSql(m: Matcher, columns: readonly string[] | undefined): string {
  if (columns?.length === 1 && m.value !== '') {
    const col = `${quoteIdent(columns[0]!)}::VARCHAR`;
    if (m.type === '=') return `${col} = ${sqlString(m.value)}`;
    if (m.type === '=~' && WORDS.test(m.value)) {
      return `${col} IN (${[...new Set(m.value.split('|'))].map(sqlString).join(', ')})`;
    }
  }
  return matcherSql(m, streamLabelSql(columns));
}

/**
 * The line filters SQL can apply exactly as the pipeline does (string operands; DuckDB's regexps
 * are RE2, as Go's), as WHERE terms; the others are left to the pipeline.
 */
export function lineFilterSql(f: LineFilterStage): string | null {
  if (f.values.length === 0 || f.values.some((v) => v.kind !== 'string' || v.value === '')) return null;
  const values = f.values.map((v) => v.value);
  const any = (term: (v: string) => string) => `(${values.map(term).join(' OR ')})`;
  switch (f.op) {
    case '|=':
      return any((v) => `contains(body, ${sqlString(v)})`);
    case '!=':
      return `(body IS NULL OR NOT ${any((v) => `contains(body, ${sqlString(v)})`)})`;
    case '|~':
      return any((v) => `regexp_matches(COALESCE(body, ''), ${sqlString(v)})`);
    case '!~':
      return `NOT ${any((v) => `regexp_matches(COALESCE(body, ''), ${sqlString(v)})`)}`;
    case '|>':
    case '!>':
      return null;
  }
}

/** A structured metadata label's value as SQL, NULL when the line has none. */
export function metadataLabelSql(mapping: StreamLabelColumns, name: string): string {
  const cols = mapping.metadata.get(name);
  if (!cols) return 'NULL::VARCHAR';
  return `COALESCE(${cols
    .map((c) => `NULLIF(NULLIF(${quoteIdent(c.column)}::VARCHAR, ''), ${sqlString(c.unset || '')})`)
    .join(', ')})`;
}
