/**
 * The canonical text of a LogQL tree, after Loki's `String()` methods (what
 * `/loki/api/v1/format_query` answers). The text parses back to the same tree. Where Loki's text
 * would not (byte sizes rounded by humanize, `by ()` dropped), we write an exact form instead.
 */
import type {
  Expr,
  Grouping,
  LabelFilterExpr,
  LineFilterStage,
  LogSelectorExpr,
  Matcher,
  PipelineStage,
  UnwrapStage,
  VectorMatching,
} from '../ast.ts';
import { formatGoDurationNs, formatPromDurationMs } from './durations.ts';
import { goQuote } from '../../lib/go-quote.ts';

export function formatLogQL(e: Expr): string {
  switch (e.type) {
    case 'LogSelector':
      return formatSelector(e);
    case 'RangeAggregation': {
      const param = e.param === null ? '' : `${formatNumber(e.param)},`;
      const offset = e.offsetMs === 0 ? '' : ` offset ${formatPromDurationMs(e.offsetMs)}`;
      const unwrap = e.unwrap === null ? '' : formatUnwrap(e.unwrap);
      const range = `${formatSelector(e.selector)}${unwrap}[${formatPromDurationMs(e.rangeMs)}]${offset}`;
      return `${e.op}(${param}${range})${formatGrouping(e.grouping, true)}`;
    }
    case 'VectorAggregation': {
      const param = e.param === null ? '' : `${formatNumber(e.param)},`;
      return `${e.op}${formatGrouping(e.grouping, false)}(${param}${formatLogQL(e.expr)})`;
    }
    case 'BinaryOp':
      return `(${formatLogQL(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${formatMatching(e.matching)} ${formatLogQL(e.rhs)})`;
    case 'Literal':
      return formatNumber(e.value);
    case 'Vector':
      return `vector(${formatNumber(e.value)})`;
    case 'LabelReplace':
      return `label_replace(${formatLogQL(e.expr)},${[e.dst, e.replacement, e.src, e.regex].map(goQuote).join(',')})`;
  }
}

function formatGrouping(g: Grouping | null, keepEmpty: boolean): string {
  if (g === null || (!keepEmpty && !g.without && g.labels.length === 0)) return '';
  return ` ${g.without ? 'without' : 'by'} (${g.labels.join(',')})`;
}

function formatMatching(m: VectorMatching | null): string {
  if (m === null) return '';
  let s = ` ${m.on ? 'on' : 'ignoring'} (${m.labels.join(',')})`;
  if (m.card === 'many-to-one' || m.card === 'one-to-many') {
    s += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'}`;
    if (m.include.length > 0) s += ` (${m.include.join(',')})`;
  }
  return s;
}

function formatSelector(s: LogSelectorExpr): string {
  const sel = `{${s.matchers.map(formatMatcher).join(', ')}}`;
  return s.pipeline.length === 0 ? sel : `${sel} ${s.pipeline.map(formatStage).join(' ')}`;
}

const formatMatcher = (m: Matcher): string => `${m.name}${m.type}${goQuote(m.value)}`;

export function formatLineFilter(f: LineFilterStage): string {
  const vals = f.values.map((v) => (v.kind === 'ip' ? `ip(${goQuote(v.value)})` : goQuote(v.value)));
  return `${f.op} ${vals.join(' or ')}`;
}

export function formatStage(s: PipelineStage): string {
  const params = (ps: { label: string; expr: string }[]) =>
    ps.length === 0 ? '' : ` ${ps.map((p) => `${p.label}=${goQuote(p.expr)}`).join(',')}`;
  switch (s.type) {
    case 'LineFilter':
      return formatLineFilter(s);
    case 'Json':
      return `| json${params(s.params)}`;
    case 'Logfmt':
      return `| logfmt${s.strict ? ' --strict' : ''}${s.keepEmpty ? ' --keep-empty' : ''}${params(s.params)}`;
    case 'Regexp':
      return `| regexp ${goQuote(s.pattern)}`;
    case 'Pattern':
      return `| pattern ${goQuote(s.pattern)}`;
    case 'Unpack':
      return '| unpack';
    case 'Decolorize':
      return '| decolorize';
    case 'LabelFilter':
      return `| ${formatLabelFilter(s.filter)}`;
    case 'LineFormat':
      return `| line_format ${goQuote(s.template)}`;
    case 'LabelFormat':
      return `| label_format ${s.items
        .map((i) => (i.kind === 'rename' ? `${i.dst}=${i.src}` : `${i.dst}=${goQuote(i.template)}`))
        .join(',')}`;
    case 'Drop':
    case 'Keep':
      return `| ${s.type === 'Drop' ? 'drop' : 'keep'} ${s.items
        .map((i) => (i.matcher === null ? i.name : formatMatcher(i.matcher)))
        .join(',')}`;
  }
}

export function formatLabelFilter(f: LabelFilterExpr): string {
  switch (f.kind) {
    case 'string':
      return formatMatcher(f.matcher);
    case 'number':
      return `${f.name}${f.op}${formatNumber(f.value)}`;
    case 'duration':
      return `${f.name}${f.op}${formatGoDurationNs(f.valueNs)}`;
    case 'bytes':
      return `${f.name}${f.op}${formatBytes(f.value)}`;
    case 'ip':
      return `${f.name}${f.op}ip(${goQuote(f.value)})`;
    case 'binary':
      return `( ${formatLabelFilter(f.left)} ${f.op === 'and' ? ',' : 'or'} ${formatLabelFilter(f.right)} )`;
  }
}

function formatUnwrap(u: UnwrapStage): string {
  const target = u.conversion === '' ? u.label : `${u.conversion}(${u.label})`;
  return ` | unwrap ${target}${u.postFilters.map((f) => ` | ${formatLabelFilter(f)}`).join('')}`;
}

/** An exact byte size: the largest binary or decimal unit that divides it, else plain bytes. */
function formatBytes(n: number): string {
  const units: [string, number][] = [
    ['PiB', 1024 ** 5],
    ['PB', 1e15],
    ['TiB', 1024 ** 4],
    ['TB', 1e12],
    ['GiB', 1024 ** 3],
    ['GB', 1e9],
    ['MiB', 1024 ** 2],
    ['MB', 1e6],
    ['KiB', 1024],
    ['kB', 1000],
  ];
  for (const [name, mult] of units) if (n >= mult && n % mult === 0) return `${n / mult}${name}`;
  return `${n}B`;
}

/** Go's `%v` of a float64: exponent form from 1e21 and below 1e-4. */
function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const abs = Math.abs(v);
  if (abs !== 0 && abs < 1e-4) return v.toExponential().replace(/e-(\d)$/, 'e-0$1');
  return String(v);
}
