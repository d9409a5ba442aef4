/**
 * Token kinds, named as Loki's messages name them: keywords and operators by their text (`}`,
 * `unwrap`, `ip`), everything else by Loki's grammar name (`IDENTIFIER`, `STRING`, `SUM`).
 */
export type TokenKind = string;

export interface Token {
  kind: TokenKind;
  /** offsets in the query text */
  start: number;
  end: number;
  /** identifier text, unquoted string value, number/duration/bytes/range text */
  text: string;
  /** Loki reports this token's position with line 0 (see errors.ts) */
  lineZero: boolean;
  /** a lexical error found at this token (the token then ends the input) */
  error?: string;
}

/**
 * Loki's token numbering (the order of the grammar's declarations): its "expecting A or B" lists
 * name the expected tokens in this order.
 */
const ORDER: readonly string[] = [
  'BYTES',
  'IDENTIFIER',
  'STRING',
  'NUMBER',
  'PARSER_FLAG',
  'DURATION',
  'RANGE',
  'MATCHERS',
  'LABELS',
  '=',
  '=~',
  '!~',
  '!>',
  '{',
  '}',
  '[',
  ']',
  ',',
  '.',
  '|~',
  '|=',
  '|>',
  '(',
  ')',
  'by',
  'without',
  'COUNT_OVER_TIME',
  'RATE',
  'RATE_COUNTER',
  'SUM',
  'SORT',
  'SORT_DESC',
  'AVG',
  'MAX',
  'MIN',
  'COUNT',
  'STDDEV',
  'STDVAR',
  'BOTTOMK',
  'TOPK',
  'APPROX_TOPK',
  'BYTES_OVER_TIME',
  'BYTES_RATE',
  'bool',
  'json',
  'regexp',
  'logfmt',
  '|',
  'line_format',
  'label_format',
  'unwrap',
  'AVG_OVER_TIME',
  'SUM_OVER_TIME',
  'MIN_OVER_TIME',
  'MAX_OVER_TIME',
  'STDVAR_OVER_TIME',
  'STDDEV_OVER_TIME',
  'QUANTILE_OVER_TIME',
  'BYTES_CONV',
  'DURATION_CONV',
  'DURATION_SECONDS_CONV',
  'FIRST_OVER_TIME',
  'LAST_OVER_TIME',
  'ABSENT_OVER_TIME',
  'VECTOR',
  'label_replace',
  'unpack',
  'offset',
  'pattern',
  'ip',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'decolorize',
  'drop',
  'keep',
  'or',
  'and',
  'unless',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];
const RANK = new Map(ORDER.map((k, i) => [k, i]));

/** Loki's (goyacc's) syntax error text: the expected tokens are listed only when there are at most 4. */
export function syntaxErrorText(found: Token, expected: readonly TokenKind[]): string {
  let msg = `syntax error: unexpected ${found.kind}`;
  if (expected.length === 0 || expected.length > 4) return msg;
  const sorted = [...new Set(expected)].sort((a, b) => (RANK.get(a) ?? 999) - (RANK.get(b) ?? 999));
  msg += `, expecting ${sorted.join(' or ')}`;
  return msg;
}
