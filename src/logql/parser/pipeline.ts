/**
 * Log selectors and their pipelines: `{matchers}`, line filters, parsers, label filters, formats,
 * drop/keep, decolorize and unwrap. The expected-token lists passed to `expect` are the ones
 * Loki's grammar has in the same place, so syntax errors read the same.
 */
import type {
  DropKeepItem,
  ExtractionParam,
  LabelFilterExpr,
  LabelFormatItem,
  LineFilterOp,
  LineFilterStage,
  LineFilterValue,
  Matcher,
  MatchType,
  NumericOp,
  PipelineStage,
  UnwrapStage,
} from '../ast.ts';
import type { Cursor } from './cursor.ts';
import { errorNoPos } from './errors.ts';
import { parseDurationLiteralNs } from './lexer.ts';
import { re2Error } from '../regex.ts';
import type { Token } from './tokens.ts';

const MATCH_OPS = ['=', '=~', '!~', '!='];
const LINE_FILTER_OPS = new Set(['|=', '!=', '|~', '!~', '|>', '!>']);
const NEGATIVE_FILTERS = new Set(['!=', '!~', '!>']);

export function parseMatcher(c: Cursor, nameTok: Token): Matcher {
  const op = c.peek();
  if (!MATCH_OPS.includes(op.kind)) throw c.error(MATCH_OPS);
  c.next();
  const value = c.expect('STRING').text;
  return newMatcher(nameTok.text, op.kind as MatchType, value, nameTok.start);
}

/** Prometheus' NewMatcher: a regexp that does not compile fails the whole parse at once. */
function newMatcher(name: string, type: MatchType, value: string, pos: number): Matcher {
  if (type === '=~' || type === '!~') {
    const err = re2Error(value);
    if (err !== null) throw errorNoPos(err, pos);
  }
  return { name, type, value };
}

/** `{a="b", c=~"d"}` — the `{` is the next token. */
export function parseSelector(c: Cursor): Matcher[] {
  c.expect('{');
  const matchers: Matcher[] = [];
  if (c.accept('}')) return matchers;
  let expected = ['IDENTIFIER', '}'];
  for (;;) {
    const name = c.expect('IDENTIFIER', expected);
    matchers.push(parseMatcher(c, name));
    if (c.accept(',')) {
      expected = ['IDENTIFIER'];
      continue;
    }
    c.expect('}', ['}', ',']);
    return matchers;
  }
}

/**
 * Pipeline stages until something that is not a stage. In a range aggregation (`inRange`) a
 * `| unwrap` ends the stages (the caller parses it); elsewhere it is a syntax error, as in Loki.
 */
export function parseStages(c: Cursor, inRange: boolean): PipelineStage[] {
  const stages: PipelineStage[] = [];
  for (;;) {
    const t = c.peek();
    if (LINE_FILTER_OPS.has(t.kind)) {
      stages.push(...parseLineFilter(c));
      continue;
    }
    if (t.kind !== '|' || (inRange && c.peek(1).kind === 'unwrap')) return stages;
    c.next();
    stages.push(parseStageAfterPipe(c, t.start));
  }
}

function parseStageAfterPipe(c: Cursor, start: number): PipelineStage {
  const t = c.peek();
  const pos = () => ({ start, end: c.lastEnd });
  switch (t.kind) {
    case 'json': {
      c.next();
      const params = c.is('IDENTIFIER') ? parseExtractionParams(c) : [];
      return { type: 'Json', params, pos: pos() };
    }
    case 'logfmt': {
      c.next();
      let strict = false;
      let keepEmpty = false;
      for (let f = c.accept('PARSER_FLAG'); f !== null; f = c.accept('PARSER_FLAG')) {
        if (f.text === '--strict') strict = true;
        else keepEmpty = true;
      }
      const params = c.is('IDENTIFIER') ? parseExtractionParams(c) : [];
      return { type: 'Logfmt', strict, keepEmpty, params, pos: pos() };
    }
    case 'regexp': {
      c.next();
      const pattern = c.expect('STRING').text;
      return { type: 'Regexp', pattern, pos: pos() };
    }
    case 'pattern': {
      c.next();
      const pattern = c.expect('STRING').text;
      return { type: 'Pattern', pattern, pos: pos() };
    }
    case 'unpack':
      c.next();
      return { type: 'Unpack', pos: pos() };
    case 'decolorize':
      c.next();
      return { type: 'Decolorize', pos: pos() };
    case 'line_format': {
      c.next();
      const template = c.expect('STRING').text;
      return { type: 'LineFormat', template, pos: pos() };
    }
    case 'label_format': {
      c.next();
      const items: LabelFormatItem[] = [];
      do {
        const dst = c.expect('IDENTIFIER').text;
        c.expect('=');
        const v = c.peek();
        if (v.kind === 'IDENTIFIER') items.push({ kind: 'rename', dst, src: c.next().text });
        else if (v.kind === 'STRING') items.push({ kind: 'template', dst, template: c.next().text });
        else throw c.error(['IDENTIFIER', 'STRING']);
      } while (c.accept(','));
      return { type: 'LabelFormat', items, pos: pos() };
    }
    case 'drop':
    case 'keep': {
      c.next();
      const items: DropKeepItem[] = [];
      do {
        const name = c.expect('IDENTIFIER');
        const matcher = MATCH_OPS.includes(c.peek().kind) ? parseMatcher(c, name) : null;
        items.push({ name: name.text, matcher });
      } while (c.accept(','));
      return { type: t.kind === 'drop' ? 'Drop' : 'Keep', items, pos: pos() };
    }
    case 'IDENTIFIER':
    case '(': {
      const filter = parseLabelFilter(c);
      return { type: 'LabelFilter', filter, pos: pos() };
    }
    default:
      throw c.error([]);
  }
}

/** `a, b="x.y", c="tags[0]"` */
function parseExtractionParams(c: Cursor): ExtractionParam[] {
  const params: ExtractionParam[] = [];
  do {
    const label = c.expect('IDENTIFIER').text;
    const expr = c.accept('=') ? c.expect('STRING').text : label;
    params.push({ label, expr });
  } while (c.accept(','));
  return params;
}

/**
 * `|= "a" or "b"`. A negative filter with alternatives (`!= "a" or "b"`) means "neither", which
 * Loki turns into consecutive filters (`!= "a" != "b"`); we do the same, one stage each.
 */
function parseLineFilter(c: Cursor): LineFilterStage[] {
  const opTok = c.next();
  const op = opTok.kind as LineFilterOp;
  const values: LineFilterValue[] = [parseLineFilterValue(c)];
  while (c.accept('or')) values.push(parseLineFilterValue(c));
  const pos = { start: opTok.start, end: c.lastEnd };
  if (!NEGATIVE_FILTERS.has(op) || values.length === 1) return [{ type: 'LineFilter', op, values, pos }];
  return values.map((v) => ({ type: 'LineFilter', op, values: [v], pos }));
}

function parseLineFilterValue(c: Cursor): LineFilterValue {
  if (c.is('STRING')) return { kind: 'string', value: c.next().text };
  if (!c.is('ip')) throw c.error(['STRING', 'ip']);
  return { kind: 'ip', value: parseIpCall(c) };
}

/** `ip("...")` — the `ip` is the next token. */
function parseIpCall(c: Cursor): string {
  c.expect('ip');
  c.expect('(');
  const v = c.expect('STRING').text;
  c.expect(')');
  return v;
}

/**
 * Label filter expressions. Loki's grammar gives `or` the lowest and `and` the next precedence,
 * while `,` and juxtaposition (`a b`) take everything to their right: `a , b or c` is
 * `a and (b or c)`, `a or b , c` is `a or (b and c)`.
 */
export function parseLabelFilter(c: Cursor, minPrec = 0): LabelFilterExpr {
  let left = parseLabelFilterPrimary(c);
  for (;;) {
    const t = c.peek();
    if (t.kind === ',' || t.kind === 'IDENTIFIER' || t.kind === '(') {
      if (t.kind === ',') c.next();
      const right = parseLabelFilter(c, 0);
      left = { kind: 'binary', op: 'and', left, right, pos: { start: left.pos.start, end: right.pos.end } };
      continue;
    }
    const prec = t.kind === 'or' ? 1 : t.kind === 'and' ? 2 : 0;
    if (prec === 0 || prec < minPrec) return left;
    c.next();
    const right = parseLabelFilter(c, prec + 1);
    const op = t.kind === 'or' ? 'or' : 'and';
    left = { kind: 'binary', op, left, right, pos: { start: left.pos.start, end: right.pos.end } };
  }
}

const NUMERIC_OPS: Record<string, NumericOp> = {
  '=': '==',
  '==': '==',
  '!=': '!=',
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
};

function parseLabelFilterPrimary(c: Cursor): LabelFilterExpr {
  if (c.is('(')) {
    const open = c.next();
    const inner = parseLabelFilter(c);
    if (!c.is(')')) throw c.error([]);
    c.next();
    return { ...inner, pos: { start: open.start, end: c.lastEnd } };
  }
  const nameTok = c.expect('IDENTIFIER', ['IDENTIFIER', '(']);
  const name = nameTok.text;
  const opTok = c.peek();
  const op = opTok.kind;
  const pos = () => ({ start: nameTok.start, end: c.lastEnd });
  if (op === '=~' || op === '!~') {
    return { kind: 'string', matcher: parseMatcher(c, nameTok), pos: pos() };
  }
  const numericOp = NUMERIC_OPS[op];
  if (numericOp === undefined) throw c.error([]);
  c.next();
  const v = c.peek();
  if ((op === '=' || op === '!=') && v.kind === 'STRING') {
    c.next();
    return { kind: 'string', matcher: newMatcher(name, op, v.text, nameTok.start), pos: pos() };
  }
  if ((op === '=' || op === '!=') && v.kind === 'ip') {
    const value = parseIpCall(c);
    return { kind: 'ip', name, op, value, pos: pos() };
  }
  if (v.kind === 'DURATION') {
    c.next();
    return {
      kind: 'duration',
      name,
      op: numericOp,
      valueNs: parseDurationLiteralNs(v.text) ?? 0,
      pos: pos(),
    };
  }
  if (v.kind === 'BYTES') {
    c.next();
    return { kind: 'bytes', name, op: numericOp, value: bytesValue(v.text), pos: pos() };
  }
  if (v.kind === 'NUMBER' || v.kind === '+' || v.kind === '-') {
    return { kind: 'number', name, op: numericOp, value: parseSignedNumber(c), pos: pos() };
  }
  throw c.error([]);
}

/** A literal: NUMBER, or `+`/`-` then NUMBER. */
export function parseSignedNumber(c: Cursor): number {
  const sign = c.accept('-') !== null ? -1 : (c.accept('+'), 1);
  return sign * numberValue(c.expect('NUMBER').text);
}

export function numberValue(text: string): number {
  return Number(text.replace(/_/g, ''));
}

function bytesValue(text: string): number {
  const m = /^([\d.,]*)(.*)$/.exec(text);
  const units: Record<string, number> = { b: 1, '': 1 };
  const unit = (m?.[2] ?? '').toLowerCase();
  const base = unit.includes('i') ? 1024 : 1000;
  const exp = 'kmgtpe'.indexOf(unit[0] ?? '') + 1;
  const mult = units[unit] ?? base ** exp;
  return Math.floor(Number((m?.[1] ?? '').replace(/,/g, '')) * mult);
}

/** `| unwrap x`, `| unwrap bytes(x)`, then `| <label filter>`s — the `|` is the next token. */
export function parseUnwrap(c: Cursor): UnwrapStage {
  const start = c.expect('|').start;
  c.expect('unwrap');
  const conv = ['BYTES_CONV', 'DURATION_CONV', 'DURATION_SECONDS_CONV'];
  let conversion: UnwrapStage['conversion'] = '';
  let label: string;
  if (conv.includes(c.peek().kind)) {
    const k = c.next().kind;
    conversion = k === 'BYTES_CONV' ? 'bytes' : k === 'DURATION_CONV' ? 'duration' : 'duration_seconds';
    c.expect('(');
    label = c.expect('IDENTIFIER').text;
    c.expect(')');
  } else {
    label = c.expect('IDENTIFIER', ['IDENTIFIER', ...conv]).text;
  }
  const postFilters: LabelFilterExpr[] = [];
  while (c.is('|')) {
    c.next();
    postFilters.push(parseLabelFilter(c));
  }
  return { type: 'Unwrap', label, conversion, postFilters, pos: { start, end: c.lastEnd } };
}
