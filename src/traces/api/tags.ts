/**
 * Tag names and tag values for Tempo's `/api/search/tags`, `/api/v2/search/tags`,
 * `/api/search/tag/<t>/values` and `/api/v2/search/tag/<t>/values`, read from the traces streams
 * with SQL (distinct values per attribute column; event and link attributes from their JSON).
 *
 * The `q` filter of the v2 endpoints takes the conditions Grafana's autocomplete sends: one span
 * set of `&&`-joined comparisons `<attribute|intrinsic> <op> <literal>` (`=`, `!=`, `<`, `<=`, `>`,
 * `>=`). Anything else is ignored, as Tempo ignores a `q` it cannot parse.
 */
import { quoteIdent } from '../../memtable/memtable.ts';
import type { ValueType } from '../../write/column-batch.ts';
import {
  levelKey,
  plainJsonAttrs,
  type AttrLevel,
  type SpanReader,
  type SpanStreamView,
  type TimeBounds,
} from '../span-reader.ts';
import type { Attr } from '../span.ts';
import type { OrgId } from '../../tenancy/org-id.ts';

export const INTRINSIC_TAGS = [
  'duration',
  'event:name',
  'event:timeSinceStart',
  'instrumentation:name',
  'instrumentation:version',
  'kind',
  'name',
  'rootName',
  'rootServiceName',
  'span:duration',
  'span:kind',
  'span:name',
  'span:status',
  'span:statusMessage',
  'status',
  'statusMessage',
  'trace:duration',
  'trace:rootName',
  'trace:rootService',
  'traceDuration',
];

export type TagScope = 'resource' | 'span' | 'event' | 'link' | 'instrumentation';
export const TAG_SCOPES: readonly TagScope[] = ['resource', 'span', 'event', 'link', 'instrumentation'];
const LEVEL_OF: Partial<Record<TagScope, AttrLevel>> = {
  resource: 'resource',
  span: 'span',
  instrumentation: 'scope',
};

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

// ---- q: a conjunction of simple comparisons

interface Cond {
  /** attribute: scope (null = unscoped `.x`) and key; or an intrinsic name */
  scope: 'resource' | 'span' | null | 'intrinsic';
  key: string;
  op: string;
  value: string | number | boolean;
  /** `status = error`, `kind = server`: a keyword literal */
  keyword: boolean;
}

const COND_RE =
  /^\s*(resource\.|span\.|\.)?([A-Za-z_][\w.:-]*)\s*(=|!=|<=|>=|<|>)\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|[a-z]+)\s*$/;

/** The conditions of `q`, or null when `q` is not a simple conjunction (then it is ignored). */
export function parseSimpleQuery(q: string | null): Cond[] | null {
  if (q === null) return null;
  const m = /^\s*\{(.*)\}\s*$/s.exec(q);
  if (!m) return null;
  const body = m[1]!.trim();
  if (body === '') return [];
  const out: Cond[] = [];
  for (const part of body.split('&&')) {
    const c = COND_RE.exec(part);
    if (!c) return null;
    const [, prefix, key, op, lit] = c;
    let value: string | number | boolean;
    let keyword = false;
    if (lit!.startsWith('"')) value = JSON.parse(lit!) as string;
    else if (lit === 'true' || lit === 'false') value = lit === 'true';
    else if (/^-?\d/.test(lit!)) value = Number(lit);
    else {
      value = lit!;
      keyword = true;
    }
    const scope =
      prefix === 'resource.' ? 'resource' : prefix === 'span.' ? 'span' : prefix === '.' ? null : 'intrinsic';
    out.push({ scope, key: key!, op: op!, value, keyword });
  }
  return out;
}

const STATUS_KEYWORDS: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const KIND_KEYWORDS: Record<string, number> = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};

function literalSql(v: string | number | boolean): string {
  return typeof v === 'string' ? sqlString(v) : String(v);
}

const valueTypeOf = (v: string | number | boolean): ValueType[] =>
  typeof v === 'string'
    ? ['str']
    : typeof v === 'boolean'
      ? ['bool']
      : Number.isInteger(v)
        ? ['int']
        : ['float'];

/** One condition as SQL on a stream; FALSE when the stream cannot satisfy it. */
function condSql(view: SpanStreamView, c: Cond): string {
  if (c.scope === 'intrinsic') {
    const intrinsic = (col: string, value: string) => `${col} ${c.op} ${value}`;
    switch (c.key) {
      case 'name':
      case 'span:name':
        return typeof c.value === 'string' && !c.keyword ? intrinsic('name', sqlString(c.value)) : 'FALSE';
      case 'status':
      case 'span:status': {
        const n = c.keyword ? STATUS_KEYWORDS[c.value as string] : undefined;
        return n === undefined ? 'FALSE' : intrinsic('status_code', String(n));
      }
      case 'kind':
      case 'span:kind': {
        const n = c.keyword ? KIND_KEYWORDS[c.value as string] : undefined;
        return n === undefined ? 'FALSE' : intrinsic('kind', String(n));
      }
      case 'statusMessage':
      case 'span:statusMessage':
        return typeof c.value === 'string'
          ? intrinsic(`coalesce(status_message, '')`, sqlString(c.value))
          : 'FALSE';
      default:
        return 'FALSE';
    }
  }
  if (c.keyword) return 'FALSE';
  const levels: AttrLevel[] = c.scope === null ? ['span', 'resource'] : [c.scope];
  const types = valueTypeOf(c.value);
  const terms: string[] = [];
  for (const level of levels) {
    for (const col of view.byKey.get(levelKey(level, c.key)) ?? []) {
      if (types.includes(col.valueType))
        terms.push(`${quoteIdent(col.column)} ${c.op} ${literalSql(c.value)}`);
    }
  }
  return terms.length ? `(${terms.join(' OR ')})` : 'FALSE';
}

export function condsSql(view: SpanStreamView, conds: readonly Cond[] | null): string {
  if (!conds || conds.length === 0) return 'TRUE';
  return conds.map((c) => condSql(view, c)).join(' AND ');
}

// ---- tag names

/** Attribute names per scope over the range (names with at least one value). */
export async function tagNames(
  reader: SpanReader,
  org: OrgId,
  range: TimeBounds,
  conds: readonly Cond[] | null,
): Promise<Record<TagScope, Set<string>>> {
  const out: Record<TagScope, Set<string>> = {
    resource: new Set(),
    span: new Set(),
    event: new Set(),
    link: new Set(),
    instrumentation: new Set(),
  };
  await reader.scan(org, range, async (view, rows, sql) => {
    const where = condsSql(view, conds);
    const cols = view.attrs;
    const counts = cols.map((c, i) => `count(${quoteIdent(c.column)}) AS c${i}`);
    const sel = [...counts, 'bool_or(len(events) > 0) AS ev', 'bool_or(len(links) > 0) AS lk'];
    const [r] = await sql(`SELECT ${sel.join(', ')} FROM (${rows(where)})`);
    if (!r) return;
    cols.forEach((c, i) => {
      if (Number(r[`c${i}`]) > 0) out[c.level === 'scope' ? 'instrumentation' : c.level].add(c.key);
    });
    if (r.ev || r.lk) {
      const nested = await sql(
        `SELECT list_transform(events, e -> e.attributes) AS ev, list_transform(links, l -> l.attributes) AS lk FROM (${rows(where)}) WHERE len(events) > 0 OR len(links) > 0`,
      );
      for (const n of nested) {
        for (const t of (n.ev as string[] | null) ?? [])
          for (const a of plainJsonAttrs(t)) out.event.add(a.key);
        for (const t of (n.lk as string[] | null) ?? [])
          for (const a of plainJsonAttrs(t)) out.link.add(a.key);
      }
    }
  });
  return out;
}

// ---- tag values

const valueText = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
      ? String(v)
      : '';

export interface TypedValue {
  type: 'string' | 'int' | 'float' | 'bool';
  value: string;
}

const TEMPO_TYPES: Record<string, TypedValue['type']> = {
  str: 'string',
  string: 'string',
  int: 'int',
  float: 'float',
  double: 'float',
  bool: 'bool',
};

/** A parsed v2 tag name: an attribute of some scopes, an intrinsic, or invalid. */
export type TagRef =
  | { kind: 'attr'; scopes: TagScope[]; key: string }
  | { kind: 'intrinsic'; name: string }
  | { kind: 'invalid' };

const INTRINSIC_VALUES = new Set([
  'name',
  'span:name',
  'status',
  'span:status',
  'kind',
  'span:kind',
  'statusMessage',
  'span:statusMessage',
  'rootServiceName',
  'trace:rootService',
  'rootName',
  'trace:rootName',
  'event:name',
  'instrumentation:name',
  'instrumentation:version',
]);

export function parseTagRef(tag: string): TagRef {
  if (INTRINSIC_TAGS.includes(tag))
    return INTRINSIC_VALUES.has(tag)
      ? { kind: 'intrinsic', name: tag }
      : { kind: 'attr', scopes: [], key: tag };
  if (tag.startsWith('.')) return { kind: 'attr', scopes: ['span', 'resource'], key: tag.slice(1) };
  for (const s of TAG_SCOPES)
    if (tag.startsWith(`${s}.`)) return { kind: 'attr', scopes: [s], key: tag.slice(s.length + 1) };
  return { kind: 'invalid' };
}

function typedValue(a: Attr): TypedValue | null {
  const type = TEMPO_TYPES[a.type];
  return type ? { type, value: String(a.value) } : null;
}

/** Values of a tag with their types, distinct, at most `limit`. */
export async function tagValues(
  reader: SpanReader,
  org: OrgId,
  range: TimeBounds,
  ref: TagRef,
  conds: readonly Cond[] | null,
  limit = 1000,
): Promise<TypedValue[]> {
  const seen = new Map<string, TypedValue>();
  const add = (v: TypedValue | null) => {
    if (v && seen.size < limit) seen.set(`${v.type}\u0000${v.value}`, v);
  };
  if (ref.kind === 'invalid') return [];
  await reader.scan(org, range, async (view, rows, sql) => {
    const where = condsSql(view, conds);
    const distinct = async (expr: string, type: TypedValue['type'], w = where) => {
      for (const r of await sql(`SELECT DISTINCT ${expr} AS v FROM (${rows(w)}) LIMIT ${limit}`)) {
        add({
          type,
          value: valueText(r.v),
        });
      }
    };
    if (ref.kind === 'intrinsic') {
      switch (ref.name) {
        case 'name':
        case 'span:name':
          return distinct('name', 'string');
        case 'status':
        case 'span:status':
          return distinct('status_code', 'int');
        case 'kind':
        case 'span:kind':
          return distinct('kind', 'int');
        case 'statusMessage':
        case 'span:statusMessage':
          return distinct(`coalesce(status_message, '')`, 'string');
        case 'instrumentation:name':
          return distinct(`"scope.name"`, 'string', `${where} AND "scope.name" IS NOT NULL`);
        case 'instrumentation:version':
          return distinct(`"scope.version"`, 'string', `${where} AND "scope.version" IS NOT NULL`);
        case 'event:name':
          return distinct('unnest(list_transform(events, e -> e.name))', 'string');
        case 'rootName':
        case 'trace:rootName':
          return distinct('name', 'string', `${where} AND parent_span_id IS NULL`);
        case 'rootServiceName':
        case 'trace:rootService': {
          const svc = view.byKey
            .get(levelKey('resource', 'service.name'))
            ?.find((c) => c.valueType === 'str');
          if (svc) await distinct(quoteIdent(svc.column), 'string', `${where} AND parent_span_id IS NULL`);
          // traces without a root span have an empty root service name
          const [r] = await sql(
            `SELECT count(*) AS n FROM (SELECT trace_id FROM (${rows('TRUE')}) GROUP BY trace_id HAVING bool_and(parent_span_id IS NOT NULL))`,
          );
          if (r && Number(r.n) > 0) add({ type: 'string', value: '' });
          return;
        }
      }
      return;
    }
    for (const scope of ref.scopes) {
      const level = LEVEL_OF[scope];
      if (level) {
        for (const col of view.byKey.get(levelKey(level, ref.key)) ?? []) {
          const type = TEMPO_TYPES[col.valueType];
          if (!type) continue;
          await distinct(quoteIdent(col.column), type, `${where} AND ${quoteIdent(col.column)} IS NOT NULL`);
        }
      } else {
        const field = scope === 'event' ? 'events' : 'links';
        const rowsOut = await sql(
          `SELECT DISTINCT unnest(list_transform(${field}, x -> x.attributes)) AS a FROM (${rows(where)}) WHERE len(${field}) > 0`,
        );
        for (const r of rowsOut)
          for (const a of plainJsonAttrs(r.a as string)) if (a.key === ref.key) add(typedValue(a));
      }
    }
  });
  return [...seen.values()];
}
