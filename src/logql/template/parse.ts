/**
 * The parser of Go's text/template (text/template/parse/parse.go) for the subset Loki's formats
 * use: text, actions, pipelines with declarations, if/else if/else, with, range, break/continue,
 * parentheses, fields, variables and literals. Functions must exist at parse time, as in Go.
 */
import { lex, type Tok, type TokType, tokString } from './lex.ts';
import { TemplateParseError } from './types.ts';

export type Arg =
  | { t: 'field'; pos: number; names: string[] }
  | { t: 'chain'; pos: number; node: Arg; names: string[] }
  | { t: 'var'; pos: number; name: string; slot: number; names: string[] }
  | { t: 'dot'; pos: number }
  | { t: 'nil'; pos: number }
  | { t: 'bool'; pos: number; value: boolean }
  | { t: 'number'; pos: number; text: string; num: NumberLit }
  | { t: 'string'; pos: number; text: string; quoted: string }
  | { t: 'ident'; pos: number; name: string }
  | { t: 'pipe'; pos: number; pipe: Pipe };

export interface NumberLit {
  isInt: boolean;
  int: bigint;
  isFloat: boolean;
  float: number;
  /** a literal with '.', 'e' or 'p' is a float64 constant even when integral */
  floatText: boolean;
}

export interface Cmd {
  pos: number;
  args: Arg[];
}

export interface Pipe {
  pos: number;
  decl: { name: string; slot: number }[];
  isAssign: boolean;
  cmds: Cmd[];
}

export type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pos: number; pipe: Pipe }
  | { t: 'if' | 'with' | 'range'; pos: number; pipe: Pipe; list: Node[]; elseList: Node[] | null }
  | { t: 'break' | 'continue'; pos: number };

export interface Tree {
  nodes: Node[];
  /** number of variable slots ($ is slot 0) */
  slots: number;
}

export function parseTemplate(src: string, name: string, hasFunction: (name: string) => boolean): Tree {
  return new Parser(src, name, hasFunction).parse();
}

const COMMAND_START = new Set<TokType>([
  'bool',
  'char',
  'dot',
  'field',
  'identifier',
  'number',
  'nil',
  'rawString',
  'string',
  'variable',
  'lparen',
]);

class Parser {
  private readonly toks: Tok[];
  private i = 0;
  private readonly vars: { name: string; slot: number }[] = [{ name: '$', slot: 0 }];
  private slots = 1;
  private rangeDepth = 0;

  constructor(
    private readonly src: string,
    private readonly name: string,
    private readonly hasFunction: (name: string) => boolean,
  ) {
    this.toks = lex(src);
  }

  parse(): Tree {
    const nodes: Node[] = [];
    for (;;) {
      const { list, stop } = this.itemList(true);
      nodes.push(...list);
      if (stop === null) break;
      this.error(`unexpected {{${stop.val}}}`, stop);
    }
    return { nodes, slots: this.slots };
  }

  private error(msg: string, tok?: Tok): never {
    const line = tok?.line ?? this.peek().line;
    throw new TemplateParseError(`template: ${this.name}:${line}: ${msg}`);
  }

  private next(): Tok {
    const t = this.toks[this.i] ?? this.toks[this.toks.length - 1];
    if (t === undefined) throw new TemplateParseError(`template: ${this.name}:1: unexpected EOF`);
    if (this.i < this.toks.length - 1) this.i++;
    if (t.type === 'error') this.error(t.val, t);
    return t;
  }

  private peek(): Tok {
    const t = this.toks[this.i] ?? this.toks[this.toks.length - 1];
    if (t === undefined) throw new TemplateParseError(`template: ${this.name}:1: unexpected EOF`);
    return t;
  }

  private nextNonSpace(): Tok {
    let t = this.next();
    while (t.type === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Tok {
    while (this.peek().type === 'space') this.next();
    return this.peek();
  }

  /** Nodes up to EOF (stop = null) or to an {{end}} / {{else}} (stop = that keyword token). */
  private itemList(top: boolean): { list: Node[]; stop: Tok | null } {
    const list: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'eof') {
        if (!top) this.error('unexpected EOF', t);
        return { list, stop: null };
      }
      this.next();
      if (t.type === 'text') {
        list.push({ t: 'text', text: t.val });
        continue;
      }
      if (t.type === 'error') this.error(t.val, t);
      // t is {{
      const k = this.peekNonSpace();
      if (k.type === 'keyword') {
        if (k.val === 'end' || k.val === 'else') {
          this.next();
          return { list, stop: k };
        }
        this.next();
        list.push(this.control(k));
        continue;
      }
      const pipe = this.pipeline('command', 'right');
      list.push({ t: 'action', pos: pipe.pos, pipe });
    }
  }

  private control(k: Tok): Node {
    switch (k.val) {
      case 'if':
      case 'with':
      case 'range':
        return this.branch(k.val, k);
      case 'break':
      case 'continue': {
        if (this.rangeDepth === 0) this.error(`{{${k.val}}} outside {{range}}`, k);
        const t = this.nextNonSpace();
        if (t.type !== 'right') this.error(`unexpected ${tokString(t)} in {{${k.val}}}`, t);
        return { t: k.val, pos: k.pos };
      }
      default:
        return this.error(`{{${k.val}}} is not supported in Loki templates here`, k);
    }
  }

  private branch(kind: 'if' | 'with' | 'range', k: Tok): Node {
    const scope = this.vars.length;
    const pipe = this.pipeline(kind, 'right');
    if (kind === 'range') this.rangeDepth++;
    const { list, stop } = this.itemList(false);
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (stop?.val === 'else') {
      const after = this.peekNonSpace();
      // {{else if ...}} / {{else with ...}}: a nested branch that shares this {{end}}
      if (after.type === 'keyword' && (after.val === 'if' || after.val === 'with') && kind !== 'range') {
        this.next();
        elseList = [this.branch(after.val, after)];
      } else {
        const t = this.nextNonSpace();
        if (t.type !== 'right') this.error(`unexpected ${tokString(t)} in else`, t);
        const rest = this.itemList(false);
        if (rest.stop?.val !== 'end')
          this.error(`expected end; found ${rest.stop ? tokString(rest.stop) : 'EOF'}`, rest.stop ?? k);
        this.expectRight('end');
        elseList = rest.list;
      }
    } else this.expectRight('end');
    this.vars.length = scope;
    return { t: kind, pos: k.pos, pipe, list, elseList };
  }

  private expectRight(context: string): void {
    const t = this.nextNonSpace();
    if (t.type !== 'right') this.error(`unexpected ${tokString(t)} in ${context}`, t);
  }

  private pipeline(context: string, end: 'right' | 'rparen'): Pipe {
    const first = this.peekNonSpace();
    const pipe: Pipe = { pos: first.pos, decl: [], isAssign: false, cmds: [] };
    // declarations: $x := …, $x = …, range $i, $e := …
    if (first.type === 'variable') {
      const save = this.i;
      this.next();
      const after = this.peekNonSpace();
      if (after.type === 'declare' || after.type === 'assign') {
        this.next();
        pipe.isAssign = after.type === 'assign';
        pipe.decl.push(this.declare(first.val, pipe.isAssign, first));
      } else if (after.type === 'comma' && context === 'range') {
        this.next();
        const second = this.nextNonSpace();
        if (second.type !== 'variable') this.error(`range can only initialize variables`, second);
        const op = this.nextNonSpace();
        if (op.type !== 'declare' && op.type !== 'assign')
          this.error(`range can only initialize variables`, op);
        pipe.isAssign = op.type === 'assign';
        pipe.decl.push(
          this.declare(first.val, pipe.isAssign, first),
          this.declare(second.val, pipe.isAssign, second),
        );
      } else if (after.type === 'comma') {
        this.error(`too many declarations in ${context}`, after);
      } else this.i = save;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        if (pipe.cmds.length === 0) this.error(`missing value for ${context}`, t);
        for (let c = 1; c < pipe.cmds.length; c++) {
          const a = pipe.cmds[c]?.args[0];
          if (
            a &&
            (a.t === 'bool' || a.t === 'dot' || a.t === 'nil' || a.t === 'number' || a.t === 'string')
          ) {
            this.error(`non executable command in pipeline stage ${c + 1}`, t);
          }
        }
        return pipe;
      }
      if (!COMMAND_START.has(t.type)) this.error(`unexpected ${tokString(t)} in ${context}`, t);
      this.i--;
      pipe.cmds.push(this.command());
    }
  }

  private declare(name: string, isAssign: boolean, tok: Tok): { name: string; slot: number } {
    if (isAssign) return this.useVar(name, tok);
    const v = { name, slot: this.slots++ };
    this.vars.push(v);
    return v;
  }

  private useVar(name: string, tok: Tok): { name: string; slot: number } {
    for (let k = this.vars.length - 1; k >= 0; k--) {
      const v = this.vars[k];
      if (v?.name === name) return v;
    }
    return this.error(`undefined variable ${JSON.stringify(name)}`, tok);
  }

  private command(): Cmd {
    const cmd: Cmd = { pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.type === 'space') continue;
      if (t.type === 'right' || t.type === 'rparen') this.i--;
      else if (t.type !== 'pipe') this.error(`unexpected ${tokString(t)} in operand`, t);
      break;
    }
    if (cmd.args.length === 0) this.error('empty command');
    return cmd;
  }

  private operand(): Arg | null {
    const node = this.term();
    if (node === null || this.peek().type !== 'field') return node;
    const names: string[] = [];
    while (this.peek().type === 'field') names.push(this.next().val.slice(1));
    switch (node.t) {
      case 'field':
        return { ...node, names: [...node.names, ...names] };
      case 'var':
        return { ...node, names: [...node.names, ...names] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.error(`unexpected . after term ${JSON.stringify(argString(node))}`);
      case 'chain':
      case 'ident':
      case 'pipe':
        return { t: 'chain', pos: node.pos, node, names };
    }
  }

  private term(): Arg | null {
    const t = this.nextNonSpace();
    switch (t.type) {
      case 'identifier':
        if (!this.hasFunction(t.val)) this.error(`function ${JSON.stringify(t.val)} not defined`, t);
        return { t: 'ident', pos: t.pos, name: t.val };
      case 'dot':
        return { t: 'dot', pos: t.pos };
      case 'nil':
        return { t: 'nil', pos: t.pos };
      case 'variable': {
        const v = this.useVar(t.val, t);
        return { t: 'var', pos: t.pos, name: t.val, slot: v.slot, names: [] };
      }
      case 'field':
        return { t: 'field', pos: t.pos, names: [t.val.slice(1)] };
      case 'bool':
        return { t: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'char':
      case 'number':
        return { t: 'number', pos: t.pos, text: t.val, num: this.number(t) };
      case 'lparen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rparen');
        return { t: 'pipe', pos: t.pos, pipe };
      }
      case 'string':
        return { t: 'string', pos: t.pos, text: this.unquote(t), quoted: t.val };
      case 'rawString':
        return { t: 'string', pos: t.pos, text: t.val.slice(1, -1).replace(/\r/g, ''), quoted: t.val };
      case 'assign':
      case 'comma':
      case 'declare':
      case 'eof':
      case 'error':
      case 'keyword':
      case 'left':
      case 'pipe':
      case 'right':
      case 'rparen':
      case 'space':
      case 'text':
        this.i--;
        return null;
    }
  }

  private unquote(t: Tok): string {
    try {
      return unquoteGo(t.val.slice(1, -1), '"');
    } catch {
      return this.error('invalid syntax', t);
    }
  }

  private number(t: Tok): NumberLit {
    if (t.type === 'char') {
      let s: string;
      try {
        s = unquoteGo(t.val.slice(1, -1), "'");
      } catch {
        return this.error(`malformed character constant: ${t.val}`, t);
      }
      const cp = s.codePointAt(0);
      if (cp === undefined || [...s].length !== 1)
        return this.error(`malformed character constant: ${t.val}`, t);
      return { isInt: true, int: BigInt(cp), isFloat: true, float: cp, floatText: false };
    }
    const lit = parseNumber(t.val);
    if (typeof lit === 'string') return this.error(lit, t);
    return lit;
  }
}

/** Go's number literal rules (parse.newNumber): ints with base prefixes, then floats. */
function parseNumber(text: string): NumberLit | string {
  if (/i$/.test(text)) return `complex numbers are not supported: ${JSON.stringify(text)}`;
  const neg = text.startsWith('-');
  const body = text.replace(/^[+-]/, '');
  const floatText = /[.eEpP]/.test(body) && !/^0[xX][0-9a-fA-F_]*$/.test(body);
  const int = parseIntBase0(body);
  if (int !== null) {
    const v = neg ? -int : int;
    if (v >= -(2n ** 63n) && v < 2n ** 63n)
      return { isInt: true, int: v, isFloat: true, float: Number(v), floatText };
    if (!floatText) return `integer overflow: ${JSON.stringify(text)}`;
  }
  const f = parseGoFloat(body);
  if (f === null) return `illegal number syntax: ${JSON.stringify(text)}`;
  const v = neg ? -f : f;
  const isInt = Number.isInteger(v) && Math.abs(v) < 2 ** 63;
  return { isInt, int: isInt ? BigInt(v) : 0n, isFloat: true, float: v, floatText: true };
}

function parseIntBase0(s: string): bigint | null {
  if (s.startsWith('_') || s.endsWith('_') || s.includes('__')) return null;
  const clean = s.replace(/_/g, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(clean) || /^0[bB][01]+$/.test(clean) || /^0[oO][0-7]+$/.test(clean)) {
    return BigInt(clean.replace(/^0[oO]/, '0o'));
  }
  if (/^0[0-7]+$/.test(clean)) return BigInt(`0o${clean.slice(1)}`);
  if (/^(0|[1-9][0-9]*)$/.test(clean)) return BigInt(clean);
  return null;
}

function parseGoFloat(s: string): number | null {
  const clean = s.replace(/_/g, '');
  if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(clean)) return Number(clean);
  const hex = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(clean);
  if (hex) {
    const int = hex[1] ?? '';
    const frac = hex[2] ?? '';
    if (int === '' && frac === '') return null;
    const mant = parseInt(int + frac || '0', 16);
    return mant * 2 ** (Number(hex[3]) - 4 * frac.length);
  }
  return null;
}

const GO_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

/** strconv.Unquote's escapes for the body of a "…" or '…' literal. */
export function unquoteGo(body: string, quote: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      if (c === quote) throw new Error('invalid syntax');
      out += c;
      continue;
    }
    const e = body[++i];
    const simple = e === undefined ? undefined : GO_ESCAPES[e];
    if (simple !== undefined) out += simple;
    else if (e === quote) out += quote;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new Error('invalid syntax');
      const v = parseInt(hex, 16);
      // \xNN is a byte; bytes ≥ 0x80 stand for themselves in Go but cannot in a JS string: use the code point
      out += String.fromCodePoint(v);
      i += n;
    } else if (e !== undefined && e >= '0' && e <= '7') {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax');
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else throw new Error('invalid syntax');
  }
  return out;
}

/** The text Go prints for a node in error contexts (`at <…>`). */
export function argString(a: Arg): string {
  switch (a.t) {
    case 'field':
      return `.${a.names.join('.')}`;
    case 'chain':
      return `${argString(a.node)}.${a.names.join('.')}`;
    case 'var':
      return [a.name, ...a.names].join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(a.value);
    case 'number':
      return a.text;
    case 'string':
      return a.quoted;
    case 'ident':
      return a.name;
    case 'pipe':
      return `(${pipeString(a.pipe)})`;
  }
}

export function cmdString(c: Cmd): string {
  return c.args.map(argString).join(' ');
}

export function pipeString(p: Pipe): string {
  const decl = p.decl.length > 0 ? `${p.decl.map((d) => d.name).join(', ')} ${p.isAssign ? '=' : ':='} ` : '';
  return decl + p.cmds.map(cmdString).join(' | ');
}
