/**
 * The lexer of Go's text/template (text/template/parse/lex.go): text and `{{ }}` actions with
 * `{{- ` / ` -}}` trim markers, comments, and the tokens of pipelines.
 */

export type TokType =
  | 'text'
  | 'left'
  | 'right'
  | 'space'
  | 'pipe'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'lparen'
  | 'rparen'
  | 'string'
  | 'rawString'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'dot'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'eof'
  | 'error';

export interface Tok {
  type: TokType;
  val: string;
  pos: number;
  line: number;
}

const KEYWORDS = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'template',
  'with',
]);
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{Nd}_]/u.test(c);
const NUMBER =
  /^[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[bB][01_]+|0[oO][0-7_]+|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)i?/;

/** Go's item.String(), as error messages quote a token. */
export function tokString(t: Tok): string {
  if (t.type === 'eof') return 'EOF';
  if (t.type === 'error') return t.val;
  if (t.type === 'keyword') return `<${t.val}>`;
  if (t.val.length > 10) return `${JSON.stringify(t.val.slice(0, 10))}...`;
  return JSON.stringify(t.val);
}

/** Tokenizes the whole template; a lexical error ends the list with an 'error' token. */
export function lex(input: string): Tok[] {
  const toks: Tok[] = [];
  let pos = 0;
  let start: number;
  let line = 1;
  let parenDepth = 0;
  const emit = (type: TokType, from: number, to: number): void => {
    const val = input.slice(from, to);
    toks.push({ type, val, pos: from, line });
    for (let i = from; i < to; i++) if (input[i] === '\n') line++;
  };
  const skipSpaces = (): void => {
    while (isSpace(input[pos])) if (input[pos++] === '\n') line++;
  };
  const fail = (msg: string): Tok[] => {
    toks.push({ type: 'error', val: msg, pos, line });
    return toks;
  };

  for (;;) {
    // text up to the next {{
    const at = input.indexOf('{{', pos);
    if (at < 0) {
      if (pos < input.length) emit('text', pos, input.length);
      toks.push({ type: 'eof', val: '', pos: input.length, line });
      return toks;
    }
    let textEnd = at;
    const trimLeft = input[at + 2] === '-' && isSpace(input[at + 3]);
    if (trimLeft) while (textEnd > pos && isSpace(input[textEnd - 1])) textEnd--;
    if (textEnd > pos) emit('text', pos, textEnd);
    for (let i = textEnd; i < at; i++) if (input[i] === '\n') line++;
    pos = at + 2 + (trimLeft ? 2 : 0);
    // comments: {{/* ... */}}
    if (input.startsWith('/*', pos)) {
      const end = input.indexOf('*/', pos);
      if (end < 0) return fail('unclosed comment');
      for (let i = pos; i < end; i++) if (input[i] === '\n') line++;
      pos = end + 2;
      let trimRight = false;
      if (isSpace(input[pos]) && input[pos + 1] === '-' && input.startsWith('}}', pos + 2)) {
        trimRight = true;
        pos += 2;
      }
      if (!input.startsWith('}}', pos)) return fail('comment ends before closing delimiter');
      pos += 2;
      if (trimRight) skipSpaces();
      continue;
    }
    toks.push({ type: 'left', val: '{{', pos: at, line });
    // inside the action
    for (;;) {
      const c = input[pos];
      if (c === undefined) return fail('unclosed action');
      if (input.startsWith('}}', pos)) {
        if (parenDepth > 0) return fail('unclosed left paren');
        toks.push({ type: 'right', val: '}}', pos, line });
        pos += 2;
        break;
      }
      start = pos;
      if (isSpace(c)) {
        while (isSpace(input[pos]) && !(input[pos + 1] === '-' && input.startsWith('}}', pos + 2))) pos++;
        if (isSpace(input[pos]) && input[pos + 1] === '-' && input.startsWith('}}', pos + 2)) {
          if (pos > start) emit('space', start, pos);
          if (parenDepth > 0) return fail('unclosed left paren');
          for (let i = start; i < pos; i++) if (input[i] === '\n') line++;
          toks.push({ type: 'right', val: '}}', pos: pos + 2, line });
          pos += 4;
          skipSpaces();
          break;
        }
        emit('space', start, pos);
        continue;
      }
      if (c === '|') {
        pos++;
        emit('pipe', start, pos);
      } else if (c === ':') {
        if (input[pos + 1] !== '=') return fail('expected :=');
        pos += 2;
        emit('declare', start, pos);
      } else if (c === '=') {
        pos++;
        emit('assign', start, pos);
      } else if (c === ',') {
        pos++;
        emit('comma', start, pos);
      } else if (c === '(') {
        pos++;
        parenDepth++;
        emit('lparen', start, pos);
      } else if (c === ')') {
        if (parenDepth === 0) return fail('unexpected right paren');
        pos++;
        parenDepth--;
        emit('rparen', start, pos);
      } else if (c === '"') {
        pos++;
        for (;;) {
          const q = input[pos];
          if (q === undefined || q === '\n') return fail('unterminated quoted string');
          pos++;
          if (q === '\\') {
            if (input[pos] === undefined || input[pos] === '\n') return fail('unterminated quoted string');
            pos++;
          } else if (q === '"') break;
        }
        emit('string', start, pos);
      } else if (c === '`') {
        const end = input.indexOf('`', pos + 1);
        if (end < 0) return fail('unterminated raw quoted string');
        pos = end + 1;
        emit('rawString', start, pos);
      } else if (c === "'") {
        pos++;
        for (;;) {
          const q = input[pos];
          if (q === undefined || q === '\n') return fail('unterminated character constant');
          pos++;
          if (q === '\\') pos++;
          else if (q === "'") break;
        }
        emit('char', start, pos);
      } else if (c === '$') {
        pos++;
        while (isAlnum(input[pos])) pos++;
        emit('variable', start, pos);
      } else if (c === '.' && !(input[pos + 1] !== undefined && /[0-9]/.test(input[pos + 1] ?? ''))) {
        pos++;
        if (isAlnum(input[pos])) {
          while (isAlnum(input[pos])) pos++;
          emit('field', start, pos);
        } else emit('dot', start, pos);
      } else if (c === '+' || c === '-' || c === '.' || (c >= '0' && c <= '9')) {
        const m = NUMBER.exec(input.slice(pos));
        const len = m?.[0].length ?? 0;
        pos += Math.max(len, 1);
        if (len === 0 || isAlnum(input[pos])) {
          while (isAlnum(input[pos])) pos++;
          return fail(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`);
        }
        emit('number', start, pos);
      } else if (isAlnum(c)) {
        while (isAlnum(input[pos])) pos++;
        const word = input.slice(start, pos);
        if (KEYWORDS.has(word)) emit('keyword', start, pos);
        else if (word === 'true' || word === 'false') emit('bool', start, pos);
        else if (word === 'nil') emit('nil', start, pos);
        else emit('identifier', start, pos);
      } else {
        const cp = c.codePointAt(0) ?? 0;
        return fail(`bad character U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`);
      }
      // a field chain right after a term: (x).a, $x.a, fn.a
      while (input[pos] === '.' && isAlnum(input[pos + 1]) && toks.at(-1)?.type !== 'number') {
        start = pos;
        pos++;
        while (isAlnum(input[pos])) pos++;
        emit('field', start, pos);
      }
    }
  }
}
