/**
 * LogQL → SQL over a logs stream's columns, the conventions every SQL path of the engine shares:
 * matchers on the `"resource.*"` columns of stream labels (Prometheus semantics), line filters as
 * `contains` / `regexp_matches` (DuckDB's regexps are RE2, as Go's), label values NULL when absent.
 */
import type { LineFilterStage, Matcher } from '../ast.ts';
import { quoteIdent } from '../../memtable/memtable.ts';
import type { StreamLabelColumns } from './labels-mapping.ts';
import type { ShapeSet } from '../../storage/json-columns.ts';

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

/** How SQL reads the line of a row (storage/json-columns.ts: a JSON line stored as columns). */
export interface LineSql {
  /** the line as SQL */
  body: string;
  /** `contains(<line>, needle)` as SQL (NULL where the line is NULL) */
  contains: (needle: string) => string;
}

const STORED_LINE: LineSql = { body: 'body', contains: (v) => `contains(body, ${sqlString(v)})` };

/** The line of rows read from files that may store JSON lines as columns (`shapes`). */
export const lineSqlOf = (shapes: ShapeSet): LineSql =>
  shapes.size === 0 ? STORED_LINE : { body: shapes.bodySql(), contains: (v) => shapes.containsSql(v) };

/**
 * The line filters SQL can apply exactly as the pipeline does (string operands; DuckDB's regexps
 * are RE2, as Go's), as WHERE terms; the others are left to the pipeline.
 */
export function lineFilterSql(f: LineFilterStage, line: LineSql = STORED_LINE): string | null {
  if (f.values.length === 0 || f.values.some((v) => v.kind !== 'string' || v.value === '')) return null;
  const values = f.values.map((v) => v.value);
  const any = (term: (v: string) => string) => `(${values.map(term).join(' OR ')})`;
  switch (f.op) {
    case '|=':
      return any(line.contains);
    case '!=':
      return line === STORED_LINE
        ? `(body IS NULL OR NOT ${any(line.contains)})`
        : `NOT COALESCE(${any(line.contains)}, false)`;
    case '|~':
      return any((re) => regexpLineSql(re, line));
    case '!~':
      return `NOT ${any((re) => regexpLineSql(re, line))}`;
    case '|>':
    case '!>':
      return null;
  }
}

/**
 * A line regexp as SQL: `contains` on a string every match holds (a literal run of the pattern) is
 * tested first, so that RE2 runs only on lines that hold it.
 */
function regexpLineSql(re: string, line: LineSql): string {
  const match = `regexp_matches(COALESCE(${line.body}, ''), ${sqlString(re)})`;
  const lit = requiredLiteral(re);
  if (lit === null) return match;
  const has =
    line === STORED_LINE
      ? `contains(COALESCE(body, ''), ${sqlString(lit)})`
      : `COALESCE(${line.contains(lit)}, false)`;
  return `(${has} AND ${match})`;
}

const PUNCT = /^[!-/:-@[-`{-~]$/;

/**
 * The longest run of literal characters (2 or more) that every match of the RE2 pattern `re`
 * contains, or null. Conservative: a pattern with groups, alternation, an escape that is not
 * punctuation-or-class, or a brace that is not a plain repeat gives null.
 */
export function requiredLiteral(re: string): string | null {
  const cs = [...re];
  let best: string[] = [];
  let run: string[] = [];
  /** whether the last atom was a literal character (the last of `run`) */
  let lastLiteral = false;
  let atoms = 0;
  const end = () => {
    if (run.length > best.length) best = run;
    run = [];
  };
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c === '(' || c === ')' || c === '|') return null;
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      if (atoms === 0) return null;
      let min = c === '+' ? 1 : 0;
      if (c === '{') {
        const m = /^\{(\d+)(,\d*)?\}/.exec(cs.slice(i).join(''));
        if (!m) return null;
        min = Number(m[1]);
        i += m[0].length - 1;
      }
      if (cs[i + 1] === '?') i++;
      if (lastLiteral && min === 0) run.pop();
      end();
      lastLiteral = false;
      continue;
    }
    atoms++;
    if (c === '\\') {
      const d = cs[++i];
      if (d === undefined) return null;
      if (PUNCT.test(d)) {
        run.push(d);
        lastLiteral = true;
        continue;
      }
      if (!'dDsSwWbBAz'.includes(d)) return null;
    } else if (c === '[') {
      let j = i + 1;
      if (cs[j] === '^') j++;
      if (cs[j] === ']') j++;
      for (; j < cs.length && cs[j] !== ']'; j++) {
        if (cs[j] === '\\') j++;
        else if (cs[j] === '[' && cs[j + 1] === ':') {
          const close = cs.indexOf(']', j);
          if (close < 0) return null;
          j = close;
        }
      }
      if (j >= cs.length) return null;
      i = j;
    } else if (c !== '.' && c !== '^' && c !== '$') {
      run.push(c);
      lastLiteral = true;
      continue;
    }
    end();
    lastLiteral = false;
  }
  end();
  return best.length >= 2 ? best.join('') : null;
}

/** A structured metadata label's value as SQL, NULL when the line has none. */
export function metadataLabelSql(mapping: StreamLabelColumns, name: string): string {
  const cols = mapping.metadata.get(name);
  if (!cols) return 'NULL::VARCHAR';
  return `COALESCE(${cols
    .map((c) => `NULLIF(NULLIF(${quoteIdent(c.column)}::VARCHAR, ''), ${sqlString(c.unset || '')})`)
    .join(', ')})`;
}
