/**
 * Compiles a parsed template to closures (text/template/exec.go's semantics): the tree is walked
 * once at compile time, so rendering a line runs closures only. Go's type rules are kept: a
 * function's parameter types decide which values it accepts; labels are a map[string]string
 * (missing → ""); a runtime failure throws TemplateExecError with Go's message shape
 * `template: NAME:LINE:COL: executing "NAME" at <CONTEXT>: MESSAGE`.
 */
import { BUILTINS, BuiltinError } from './builtins.ts';
import { FuncError, FUNCTIONS, type FuncDef, type ParamType } from './funcs.ts';
import { GoTime } from './go-time.ts';
import { type Arg, argString, type Cmd, cmdString, type Node, type Pipe, type Tree } from './parse.ts';
import { TemplateExecError } from './types.ts';
import { formatV, GoInt, GoMap, type GoValue, int, isLabelMap, isTrue, typeName } from './values.ts';

export interface State {
  line: string;
  ts: bigint;
  vars: GoValue[];
  out: string;
}

type Exec = (s: State, dot: GoValue) => void;
type Eval = (s: State, dot: GoValue) => GoValue;
/** evaluates a command; `final` is the previous pipeline stage's value, or MISSING */
type CmdEval = (s: State, dot: GoValue, final: GoValue | typeof MISSING) => GoValue;

export const MISSING = Symbol('missing');

/** {{break}} / {{continue}} unwind to the enclosing range */
class LoopSignal extends Error {}
const BREAK = new LoopSignal('break');
const CONTINUE = new LoopSignal('continue');

export function hasFunction(name: string): boolean {
  return FUNCTIONS.has(name) || BUILTINS.has(name);
}

export function compileTree(tree: Tree, src: string, name: string): Exec {
  return new Compiler(src, name).list(tree.nodes);
}

class Compiler {
  constructor(
    private readonly src: string,
    private readonly name: string,
  ) {}

  /** Go's ErrorContext: the node's line and byte column, and its text cut to 20 characters. */
  private fail(pos: number, context: string, msg: string): never {
    const before = this.src.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const lineNum = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = nl < 0 ? pos : pos - nl - 1;
    const ctx = context.length > 20 ? `${context.slice(0, 20)}...` : context;
    throw new TemplateExecError(
      `template: ${this.name}:${lineNum}:${col}: executing "${this.name}" at <${ctx}>: ${msg}`,
    );
  }

  list(nodes: Node[]): Exec {
    const execs = nodes.map((n) => this.node(n));
    if (execs.length === 1 && execs[0]) return execs[0];
    return (s, dot) => {
      for (const e of execs) e(s, dot);
    };
  }

  private node(n: Node): Exec {
    switch (n.t) {
      case 'text': {
        const text = n.text;
        return (s) => {
          s.out += text;
        };
      }
      case 'action': {
        const pipe = this.pipe(n.pipe);
        if (n.pipe.decl.length > 0) return (s, dot) => void pipe(s, dot);
        return (s, dot) => {
          const v = pipe(s, dot);
          s.out += typeof v === 'string' ? v : formatV(v, '<no value>');
        };
      }
      case 'if':
      case 'with': {
        const pipe = this.pipe(n.pipe);
        const body = this.list(n.list);
        const orElse = n.elseList ? this.list(n.elseList) : null;
        const isWith = n.t === 'with';
        return (s, dot) => {
          const v = pipe(s, dot);
          if (isTrue(v)) body(s, isWith ? v : dot);
          else if (orElse) orElse(s, dot);
        };
      }
      case 'range':
        return this.range(n.pipe, this.list(n.list), n.elseList ? this.list(n.elseList) : null);
      case 'break':
        return () => {
          throw BREAK;
        };
      case 'continue':
        return () => {
          throw CONTINUE;
        };
    }
  }

  private range(p: Pipe, body: Exec, orElse: Exec | null): Exec {
    // the range pipeline's declarations receive index/key and element, not the pipeline's value
    const pipe = this.pipe({ ...p, decl: [] });
    const [first, second] = p.decl;
    const ctx = `range ${argString({ t: 'pipe', pos: p.pos, pipe: p }).slice(1, -1)}`;
    const one = (s: State, key: GoValue, elem: GoValue): boolean => {
      if (second) {
        if (first) s.vars[first.slot] = key;
        s.vars[second.slot] = elem;
      } else if (first) s.vars[first.slot] = elem;
      try {
        body(s, elem);
      } catch (err) {
        if (err === BREAK) return false;
        if (err !== CONTINUE) throw err;
      }
      return true;
    };
    return (s, dot) => {
      const v = pipe(s, dot);
      let n = 0;
      if (Array.isArray(v)) {
        for (const [i, e] of (v as GoValue[]).entries()) {
          n++;
          if (!one(s, int(i), e)) break;
        }
      } else if (v instanceof Map) {
        const m = v as ReadonlyMap<string, GoValue>;
        for (const k of [...m.keys()].sort()) {
          n++;
          if (!one(s, k, m.get(k) ?? null)) break;
        }
      } else if (v instanceof GoInt) {
        if (second) this.fail(p.pos, ctx, `can't use ${v.v} to iterate over more than one variable`);
        for (let i = 0n; i < v.v; i++) {
          n++;
          if (!one(s, new GoInt(i, v.kind), new GoInt(i, v.kind))) break;
        }
      } else if (v !== null) {
        this.fail(p.pos, ctx, `range can't iterate over ${formatV(v)}`);
      }
      if (n === 0 && orElse) orElse(s, dot);
    };
  }

  pipe(p: Pipe): Eval {
    const cmds = p.cmds.map((c) => this.command(c));
    const decl = p.decl;
    const [c0] = cmds;
    let run: Eval;
    if (cmds.length === 1 && c0) run = (s, dot) => c0(s, dot, MISSING);
    else {
      run = (s, dot) => {
        let v: GoValue | typeof MISSING = MISSING;
        for (const c of cmds) v = c(s, dot, v);
        return v === MISSING ? null : v;
      };
    }
    if (decl.length === 0) return run;
    const slots = decl.map((d) => d.slot);
    return (s, dot) => {
      const v = run(s, dot);
      for (const slot of slots) s.vars[slot] = v;
      return v;
    };
  }

  private command(c: Cmd): CmdEval {
    const [first, ...rest] = c.args;
    if (first === undefined) return this.fail(c.pos, cmdString(c), 'empty command');
    const context = cmdString(c);
    switch (first.t) {
      case 'ident':
        return this.call(first.name, rest, c.pos, context);
      case 'field':
      case 'chain':
      case 'var': {
        const get = this.arg(first);
        const hasArgs = rest.length > 0;
        const what =
          first.t === 'var' && first.names.length === 0
            ? `can't give argument to non-function ${first.name}`
            : null;
        return (s, dot, final) => {
          if (hasArgs || final !== MISSING) {
            const last = first.t === 'var' ? first.names.at(-1) : first.names.at(-1);
            this.fail(c.pos, context, what ?? `${last ?? ''} is not a method but has arguments`);
          }
          return get(s, dot);
        };
      }
      case 'nil':
        return () => this.fail(c.pos, context, 'nil is not a command');
      case 'bool':
      case 'dot':
      case 'number':
      case 'pipe':
      case 'string': {
        const get = this.arg(first);
        const hasArgs = rest.length > 0;
        return (s, dot, final) => {
          if (hasArgs || final !== MISSING)
            this.fail(c.pos, context, `can't give argument to non-function ${argString(first)}`);
          return get(s, dot);
        };
      }
    }
  }

  /** The value of an operand used as a command or an untyped argument. */
  private arg(a: Arg): Eval {
    switch (a.t) {
      case 'dot':
        return (_s, dot) => dot;
      case 'nil':
        return () => null;
      case 'bool': {
        const v = a.value;
        return () => v;
      }
      case 'string': {
        const v = a.text;
        return () => v;
      }
      case 'number': {
        const v = this.idealConstant(a);
        return () => v;
      }
      case 'field': {
        const names = a.names;
        const [only] = names;
        if (names.length === 1 && only !== undefined) return (_s, dot) => this.field(dot, only, a);
        return (_s, dot) => this.fields(dot, names, a);
      }
      case 'var': {
        const slot = a.slot;
        const names = a.names;
        if (names.length === 0) return (s) => s.vars[slot] ?? null;
        return (s) => this.fields(s.vars[slot] ?? null, names, a);
      }
      case 'chain': {
        const inner = this.arg(a.node);
        const names = a.names;
        return (s, dot) => this.fields(inner(s, dot), names, a);
      }
      case 'pipe':
        return this.pipe(a.pipe);
      case 'ident': {
        const call = this.call(a.name, [], a.pos, a.name);
        return (s, dot) => call(s, dot, MISSING);
      }
    }
  }

  private idealConstant(a: Arg & { t: 'number' }): GoValue {
    if (a.num.isFloat && a.num.floatText && !/^[+-]?0[xX][^pP]*$/.test(a.text) && !a.text.startsWith("'"))
      return a.num.float;
    if (a.num.isInt) return int(a.num.int);
    return this.fail(a.pos, a.text, `${a.text} overflows int`);
  }

  private fields(v: GoValue, names: readonly string[], at: Arg): GoValue {
    for (const n of names) v = this.field(v, n, at);
    return v;
  }

  private field(receiver: GoValue, name: string, at: Arg): GoValue {
    if (receiver === null) return null;
    if (isLabelMap(receiver)) return receiver.get(name) ?? '';
    if (receiver instanceof GoMap) return receiver.has(name) ? (receiver.get(name) ?? null) : null;
    return this.fail(at.pos, argString(at), `can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  /** A call of a builtin (raw values) or of a typed function. */
  private call(name: string, args: Arg[], pos: number, context: string): CmdEval {
    const builtin = BUILTINS.get(name);
    if (builtin) {
      const evals = args.map((a) => this.arg(a));
      if (builtin.lazy) {
        const lazy = builtin.lazy;
        return (s, dot, final) => {
          const total = evals.length + (final === MISSING ? 0 : 1);
          if (total < builtin.min)
            this.fail(
              pos,
              context,
              `wrong number of args for ${name}: want at least ${builtin.min} got ${total}`,
            );
          try {
            return lazy(
              evals.map((e) => () => e(s, dot)),
              final === MISSING ? undefined : final,
            );
          } catch (err) {
            if (err instanceof BuiltinError) this.fail(pos, context, `error calling ${name}: ${err.message}`);
            throw err;
          }
        };
      }
      const fn = builtin.call;
      const { min, max } = builtin;
      return (s, dot, final) => {
        const vals = evals.map((e) => e(s, dot));
        if (final !== MISSING) vals.push(final);
        if (vals.length < min || (max !== undefined && vals.length > max)) {
          const want = max === min ? `want ${min}` : `want at least ${min}`;
          this.fail(pos, context, `wrong number of args for ${name}: ${want} got ${vals.length}`);
        }
        try {
          return fn(vals);
        } catch (err) {
          if (err instanceof BuiltinError) this.fail(pos, context, `error calling ${name}: ${err.message}`);
          throw err;
        }
      };
    }
    const def = FUNCTIONS.get(name);
    if (!def) return this.fail(pos, context, `"${name}" is not a defined function`);
    return this.typedCall(name, def, args, pos, context);
  }

  private typedCall(name: string, def: FuncDef, args: Arg[], pos: number, context: string): CmdEval {
    const fixed = def.params.length;
    const paramAt = (i: number): ParamType => def.params[i] ?? def.variadic ?? 'any';
    const argCount = (n: number): void => {
      if (def.variadic !== undefined ? n < fixed : n !== fixed) {
        const want = def.variadic !== undefined ? `want at least ${fixed}` : `want ${fixed}`;
        this.fail(pos, context, `wrong number of args for ${name}: ${want} got ${n}`);
      }
    };
    // literal arguments are converted once, at compile time, as Go's evalArg does for constants
    const evals = args.map((a, i) => this.typedArg(a, paramAt(i)));
    const n = args.length;
    const call = def.call;
    return (s, dot, final) => {
      const total = final === MISSING ? n : n + 1;
      if (total !== fixed || def.variadic !== undefined) argCount(total);
      const vals = new Array<GoValue>(total);
      for (let i = 0; i < n; i++) vals[i] = (evals[i] as Eval)(s, dot);
      if (final !== MISSING) vals[n] = this.validate(final, paramAt(n), pos, context);
      try {
        return call(vals, s);
      } catch (err) {
        if (err instanceof FuncError) this.fail(pos, context, `error calling ${name}: ${err.message}`);
        throw err;
      }
    };
  }

  /** Go's evalArg: a constant must suit the parameter type; a computed value must have it. */
  private typedArg(a: Arg, typ: ParamType): Eval {
    const ctx = argString(a);
    switch (a.t) {
      case 'bool': {
        if (typ === 'any' || typ === 'bool') return () => a.value;
        return () => this.fail(a.pos, ctx, `expected ${expectedWord(typ)}; found ${ctx}`);
      }
      case 'string': {
        if (typ === 'any' || typ === 'string') return () => a.text;
        return () => this.fail(a.pos, ctx, `expected ${expectedWord(typ)}; found ${ctx}`);
      }
      case 'number': {
        if (typ === 'any') {
          const v = this.idealConstant(a);
          return () => v;
        }
        if ((typ === 'int' || typ === 'int64') && a.num.isInt) {
          const v = new GoInt(a.num.int, typ);
          return () => v;
        }
        if (typ === 'float64' && a.num.isFloat) {
          const v = a.num.float;
          return () => v;
        }
        return () => this.fail(a.pos, ctx, `expected ${expectedWord(typ)}; found ${ctx}`);
      }
      case 'nil':
        if (typ === 'any') return () => null;
        return () => this.fail(a.pos, ctx, `cannot assign nil to ${typ}`);
      case 'dot':
      case 'field':
      case 'chain':
      case 'var':
      case 'ident':
      case 'pipe': {
        const get = this.arg(a);
        if (typ === 'any') return get;
        return (s, dot) => this.validate(get(s, dot), typ, a.pos, ctx);
      }
    }
  }

  private validate(v: GoValue, typ: ParamType, pos: number, ctx: string): GoValue {
    if (typ === 'any') return v;
    if (v === null) return this.fail(pos, ctx, `invalid value; expected ${typ}`);
    let ok: boolean;
    switch (typ) {
      case 'string':
        ok = typeof v === 'string';
        break;
      case 'float64':
        ok = typeof v === 'number';
        break;
      case 'bool':
        ok = typeof v === 'boolean';
        break;
      case 'int':
      case 'int64':
        ok = v instanceof GoInt && v.kind === typ;
        break;
      case 'time.Time':
        ok = v instanceof GoTime;
        break;
    }
    if (!ok) this.fail(pos, ctx, `wrong type for value; expected ${typ}; got ${typeName(v)}`);
    return v;
  }
}

function expectedWord(typ: ParamType): string {
  if (typ === 'int' || typ === 'int64') return 'integer';
  if (typ === 'float64') return 'float';
  if (typ === 'time.Time') return 'time.Time';
  return typ;
}
