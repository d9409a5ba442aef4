/**
 * The canonical one-line text of an expression, as Prometheus' `expr.String()` (printer.go):
 * `sum by (job) (rate(foo[5m]))`. Parsing the output gives the same tree.
 */
import type { AtModifier, Expr, VectorMatching, VectorSelector } from '../ast.ts';
import { METRIC_NAME, type LabelMatcher } from '../labels.ts';
import { formatDurationMs } from './durations.ts';

const LEGACY_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** names the grammar does not read back as label names unquoted */
const RESERVED = new Set(['without', 'inf', 'nan']);

/** A double-quoted string the lexer reads back; escaped invalid bytes (see decodeUtf8) as `\xNN`. */
export function quoteString(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    else out += JSON.stringify(ch).slice(1, -1);
  }
  return `"${out}"`;
}

function labelName(n: string): string {
  return LEGACY_LABEL.test(n) && !RESERVED.has(n.toLowerCase()) ? n : quoteString(n);
}

function matcher(m: LabelMatcher): string {
  return `${labelName(m.name)}${m.type}${quoteString(m.value)}`;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64), with Prometheus' spelling of Inf and NaN. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign = '', int = '', frac = '', expStr = '0'] = m;
  const digits = int + frac;
  const exp = Number(expStr);
  if (exp >= digits.length - 1) return sign + digits.padEnd(exp + 1, '0');
  if (exp >= 0) return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

function atText(at: AtModifier): string {
  if (at === null) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.timeMs / 1000).toFixed(3)}`;
}

function offsetText(ms: number): string {
  return ms === 0 ? '' : ` offset ${formatDurationMs(ms)}`;
}

function selectorText(vs: VectorSelector): string {
  const shown =
    vs.name === '' ? vs.matchers : vs.matchers.filter((m) => !(m.name === METRIC_NAME && m.type === '=' && m.value === vs.name));
  const inner = shown.map(matcher).join(', ');
  return vs.name !== '' && inner === '' ? vs.name : `${vs.name}{${inner}}`;
}

function matchingText(m: VectorMatching | null): string {
  if (m === null) return '';
  const grouped = m.card === 'many-to-one' || m.card === 'one-to-many';
  if (!m.on && m.labels.length === 0 && !grouped) return '';
  let s = ` ${m.on ? 'on' : 'ignoring'} (${m.labels.map(labelName).join(', ')})`;
  if (grouped) {
    s += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${m.include.map(labelName).join(', ')})`;
  }
  return s;
}

export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return formatNumber(e.val);
    case 'StringLiteral':
      return quoteString(e.val);
    case 'VectorSelector':
      return selectorText(e) + atText(e.at) + offsetText(e.offsetMs);
    case 'MatrixSelector':
      return `${selectorText(e.vector)}[${formatDurationMs(e.rangeMs)}]${atText(e.vector.at)}${offsetText(e.vector.offsetMs)}`;
    case 'SubqueryExpr': {
      const step = e.stepMs === 0 ? '' : formatDurationMs(e.stepMs);
      return `${formatExpr(e.expr)}[${formatDurationMs(e.rangeMs)}:${step}]${atText(e.at)}${offsetText(e.offsetMs)}`;
    }
    case 'ParenExpr':
      return `(${formatExpr(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${formatExpr(e.expr)}`;
    case 'BinaryExpr':
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${matchingText(e.matching)} ${formatExpr(e.rhs)}`;
    case 'AggregateExpr': {
      let s: string = e.op;
      if (e.without) s += ` without (${e.grouping.map(labelName).join(', ')}) `;
      else if (e.grouping.length > 0) s += ` by (${e.grouping.map(labelName).join(', ')}) `;
      return `${s}(${e.param !== null ? `${formatExpr(e.param)}, ` : ''}${formatExpr(e.expr)})`;
    }
    case 'Call':
      return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
  }
}
