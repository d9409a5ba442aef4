/**
 * Test helpers: pipeline stages built by hand (until the parser is on main) and the conformance
 * data set loaded as LogEntry rows. Used by the tests of this folder only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type {
  DropKeepItem,
  ExtractionParam,
  LabelFilterExpr,
  LineFilterOp,
  Matcher,
  MatchType,
  NumericOp,
  PipelineStage,
  UnwrapStage,
} from '../ast.ts';
import type { LogEntry } from './types.ts';

const pos = { start: 0, end: 0 };

export const lf = (op: LineFilterOp, ...values: string[]): PipelineStage => ({
  type: 'LineFilter',
  op,
  values: values.map((value) => ({ kind: 'string', value })),
  pos,
});
export const lfIp = (op: '|=' | '!=', value: string): PipelineStage => ({
  type: 'LineFilter',
  op,
  values: [{ kind: 'ip', value }],
  pos,
});
const params = (p: (string | [string, string])[]): ExtractionParam[] =>
  p.map((x) => (typeof x === 'string' ? { label: x, expr: x } : { label: x[0], expr: x[1] }));
export const json = (...p: (string | [string, string])[]): PipelineStage => ({
  type: 'Json',
  params: params(p),
  pos,
});
export const logfmt = (
  strict = false,
  keepEmpty = false,
  ...p: (string | [string, string])[]
): PipelineStage => ({
  type: 'Logfmt',
  strict,
  keepEmpty,
  params: params(p),
  pos,
});
export const regexp = (pattern: string): PipelineStage => ({ type: 'Regexp', pattern, pos });
export const pattern = (p: string): PipelineStage => ({ type: 'Pattern', pattern: p, pos });
export const unpack = (): PipelineStage => ({ type: 'Unpack', pos });
export const decolorize = (): PipelineStage => ({ type: 'Decolorize', pos });
const items = (names: (string | Matcher)[]): DropKeepItem[] =>
  names.map((n) => (typeof n === 'string' ? { name: n, matcher: null } : { name: n.name, matcher: n }));
export const drop = (...n: (string | Matcher)[]): PipelineStage => ({ type: 'Drop', items: items(n), pos });
export const keep = (...n: (string | Matcher)[]): PipelineStage => ({ type: 'Keep', items: items(n), pos });

export const m = (name: string, type: MatchType, value: string): Matcher => ({ name, type, value });
export const str = (name: string, type: MatchType, value: string): LabelFilterExpr => ({
  kind: 'string',
  matcher: m(name, type, value),
  pos,
});
export const num = (name: string, op: NumericOp, value: number): LabelFilterExpr => ({
  kind: 'number',
  name,
  op,
  value,
  pos,
});
export const dur = (name: string, op: NumericOp, valueNs: number): LabelFilterExpr => ({
  kind: 'duration',
  name,
  op,
  valueNs,
  pos,
});
export const bytes = (name: string, op: NumericOp, value: number): LabelFilterExpr => ({
  kind: 'bytes',
  name,
  op,
  value,
  pos,
});
export const and = (left: LabelFilterExpr, right: LabelFilterExpr): LabelFilterExpr => ({
  kind: 'binary',
  op: 'and',
  left,
  right,
  pos,
});
export const or = (left: LabelFilterExpr, right: LabelFilterExpr): LabelFilterExpr => ({
  kind: 'binary',
  op: 'or',
  left,
  right,
  pos,
});
export const lbl = (filter: LabelFilterExpr): PipelineStage => ({ type: 'LabelFilter', filter, pos });
export const unwrap = (
  label: string,
  conversion: UnwrapStage['conversion'] = '',
  ...postFilters: LabelFilterExpr[]
): UnwrapStage => ({ type: 'Unwrap', label, conversion, postFilters, pos });

export const entry = (
  line: string,
  stream: Record<string, string> = {},
  metadata: Record<string, string> = {},
): LogEntry => ({
  ts: 0n,
  line,
  stream,
  metadata,
});

export const CONFORMANCE_DIR = resolve(import.meta.dirname, '../../../../shared/conformance/logql');

export interface DataStream {
  stream: Record<string, string>;
  entries: LogEntry[];
}

/** The conformance data set as entries, or null when ../shared is absent. */
export function loadConformanceData(): DataStream[] | null {
  const file = resolve(CONFORMANCE_DIR, 'data.json.gz');
  if (!existsSync(file)) return null;
  const body = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as {
    streams: { stream: Record<string, string>; values: [string, string, Record<string, string>?][] }[];
  };
  const empty = {};
  return body.streams.map((s) => ({
    stream: s.stream,
    entries: s.values.map(([ts, line, md]) => ({
      ts: BigInt(ts),
      line,
      stream: s.stream,
      metadata: md ?? empty,
    })),
  }));
}

/** Selector matching for the test (exact and regexp, anchored). */
export function selectorMatches(matchers: Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((mt) => {
    const v = labels[mt.name] ?? '';
    switch (mt.type) {
      case '=':
        return v === mt.value;
      case '!=':
        return v !== mt.value;
      case '=~':
        return new RegExp(`^(?:${mt.value})$`, 's').test(v);
      case '!~':
        return !new RegExp(`^(?:${mt.value})$`, 's').test(v);
    }
  });
}
