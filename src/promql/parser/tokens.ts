/** Keyword and operator tables of the PromQL grammar, token descriptions and number literals. */
import type { Token } from './lexer.ts';

export const AGGREGATORS = new Set<string>([
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk',
  'count_values', 'quantile', 'limitk', 'limit_ratio',
]);
export const KEYWORDS = new Set<string>([
  'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'start', 'end',
  'step', 'range', 'anchored', 'smoothed',
]);
/** keywords that cannot start a metric name (Prometheus' metric_identifier lacks them) */
export const NOT_METRIC = new Set<string>(['on', 'ignoring', 'group_left', 'group_right', 'bool', 'atan2']);
export const WORD_OPS = new Set<string>(['and', 'or', 'unless', 'atan2']);
export const PREC: Readonly<Record<string, number>> = {
  or: 1, and: 2, unless: 2, '==': 3, '!=': 3, '<': 3, '<=': 3, '>': 3, '>=': 3,
  '+': 4, '-': 4, '*': 5, '/': 5, '%': 5, atan2: 5, '^': 6,
};
export const POW_PREC = 6;
export const MATCH_OPS = new Set<string>(['=', '!=', '=~', '!~']);

/** Prometheus' Item.desc(): how a token is named in "unexpected ..." messages. */
export function describe(t: Token): string {
  const lower = t.text.toLowerCase();
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'op':
      return ['(', ')', '{', '}', '[', ']', ',', '=', ':'].includes(t.text) ? JSON.stringify(t.text) : `<op:${t.text}>`;
    case 'ident':
      if (AGGREGATORS.has(lower)) return `<aggr:${lower}>`;
      if (WORD_OPS.has(lower)) return `<op:${lower}>`;
      if (KEYWORDS.has(lower)) return `<${lower}>`;
      return `identifier ${JSON.stringify(t.text)}`;
    case 'metric_ident':
      return `metric identifier ${JSON.stringify(t.text)}`;
    case 'number':
      return `number ${JSON.stringify(t.text)}`;
    case 'duration':
      return `duration ${JSON.stringify(t.text)}`;
    case 'string':
      return `string ${JSON.stringify(t.text)}`;
    case 'error':
      return t.text;
  }
}

/** Go's strconv.ParseInt(s, 0, 64) then ParseFloat, as Prometheus reads number literals. */
export function parseNumber(text: string): number {
  const lower = text.toLowerCase().replaceAll('_', '');
  if (lower === 'inf') return Infinity;
  if (lower === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/.test(lower)) return parseInt(lower.slice(2), 16);
  if (/^0[0-7]+$/.test(lower)) return parseInt(lower.slice(1), 8);
  return Number(lower);
}
