/**
 * Go text/template with Loki's function map, for `line_format` and `label_format`.
 * `compileTemplate(src)` parses once (cached by source) and returns a renderer of closures.
 */
import { compileTree, hasFunction, type State } from './exec.ts';
import { parseTemplate } from './parse.ts';
import type { Template, TemplateData } from './types.ts';

export { TemplateExecError, TemplateParseError } from './types.ts';
export type { Template, TemplateData } from './types.ts';

export interface CompileOptions {
  /** the template's name in error messages: Loki names line_format's "line", label_format's "label" */
  name?: string;
}

const cache = new Map<string, Template>();
const FIELD_ONLY = /^\{\{\s*\.([\p{L}_][\p{L}\p{Nd}_]*)\s*\}\}$/u;

/** Parses a template; throws TemplateParseError with Go's message ("template: line:1: …"). */
export function compileTemplate(src: string, options: CompileOptions = {}): Template {
  const name = options.name ?? 'line';
  const key = `${name}\u0000${src}`;
  let t = cache.get(key);
  if (t) return t;
  t = build(src, name);
  if (cache.size >= 1000) cache.clear();
  cache.set(key, t);
  return t;
}

function build(src: string, name: string): Template {
  const tree = parseTemplate(src, name, hasFunction);
  // `{{.label}}` alone: a map lookup (Loki short-cuts this too)
  const field = FIELD_ONLY.exec(src)?.[1];
  if (field !== undefined) return { render: (d: TemplateData) => d.labels.get(field) ?? '' };
  const exec = compileTree(tree, src, name);
  const vars: State['vars'] = Array.from({ length: tree.slots }, () => null);
  return {
    render(d: TemplateData): string {
      // rendering is synchronous and never re-entrant, so one state object per template is reused
      const s: State = { line: d.line, ts: d.ts, vars, out: '' };
      vars[0] = d.labels;
      exec(s, d.labels);
      return s.out;
    },
  };
}
