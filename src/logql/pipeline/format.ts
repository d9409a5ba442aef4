/**
 * `line_format` and `label_format`, rendered by the template engine (src/logql/template/), with
 * Loki's semantics (pkg/logql/log/fmt.go):
 * - templates see every label (the pipeline error as `__error__` / `__error_details__` too), and
 *   `__line__` / `__timestamp__` as functions;
 * - a render that fails keeps the line (line_format) or leaves the label alone (label_format) and
 *   sets `__error__="TemplateFormatErr"` with Go's message as `__error_details__`;
 * - `label_format dst=src` moves the value and removes `src` (so `a=a` removes `a`, as in Loki);
 *   a missing `src` changes nothing;
 * - the templates of one `label_format` all read one snapshot of the labels, taken at its first
 *   template item (earlier renames of the stage are visible, other items' results are not);
 * - `__error__` cannot be a target, nor can one name be targeted twice in a stage.
 */
import type { LabelFormatItem, LabelFormatStage, LineFormatStage } from '../ast.ts';
import { badRequest } from '../../lib/errors.ts';
import { compileTemplate, type Template, TemplateExecError, TemplateParseError } from '../template/index.ts';
import type { Stage } from './json.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, type LabelState } from './labels.ts';

export const TEMPLATE_FORMAT_ERR = 'TemplateFormatErr';

/** The labels as templates see them: the state's Map itself when there is no error (not copied). */
function templateLabels(st: LabelState, copy: boolean): Map<string, string> {
  if (!copy && st.err === '' && st.errDetails === '') return st.labels;
  const m = new Map(st.labels);
  if (st.err !== '') m.set(ERROR_LABEL, st.err);
  if (st.errDetails !== '') m.set(ERROR_DETAILS_LABEL, st.errDetails);
  return m;
}

/** Renders; null (and the pipeline error set) when the template failed at run time. */
function render(t: Template, line: string, st: LabelState, labels: Map<string, string>): string | null {
  try {
    return t.render({ line, ts: st.ts, labels });
  } catch (e) {
    if (!(e instanceof TemplateExecError)) throw e;
    st.setError(TEMPLATE_FORMAT_ERR, e.message);
    return null;
  }
}

/** Loki's error for a template stage that cannot be built, or null; the parser reports it too. */
export function formatStageError(s: LineFormatStage | LabelFormatStage): string | null {
  try {
    if (s.type === 'LineFormat') lineTemplate(s.template);
    else labelTemplates(s.items);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function lineTemplate(src: string): Template {
  try {
    return compileTemplate(src, { name: 'line' });
  } catch (e) {
    if (e instanceof TemplateParseError) throw badRequest(`invalid line template: ${e.message}`);
    throw e;
  }
}

/** One template per item (null for renames), after Loki's checks on the targets. */
function labelTemplates(items: readonly LabelFormatItem[]): (Template | null)[] {
  const seen = new Set<string>();
  for (const it of items) {
    if (it.dst === ERROR_LABEL) throw badRequest(`${ERROR_LABEL} cannot be formatted`);
    if (seen.has(it.dst))
      throw badRequest(`multiple label name '${it.dst}' not allowed in a single format operation`);
    seen.add(it.dst);
  }
  return items.map((it) => {
    if (it.kind === 'rename') return null;
    try {
      return compileTemplate(it.template, { name: 'label' });
    } catch (e) {
      if (e instanceof TemplateParseError)
        throw badRequest(`invalid template for label '${it.dst}': ${e.message}`);
      throw e;
    }
  });
}

export function lineFormatStage(template: string): Stage {
  const t = lineTemplate(template);
  return (line, st) => render(t, line, st, templateLabels(st, false)) ?? line;
}

export function labelFormatStage(items: LabelFormatItem[]): Stage {
  const templates = labelTemplates(items);
  const steps = items.map((it, k) => ({
    dst: it.dst,
    src: it.kind === 'rename' ? it.src : '',
    t: templates[k]!,
  }));
  // the snapshot must be a copy only when an item after the first template changes the labels
  const firstTemplate = templates.findIndex((t) => t !== null);
  const copy = firstTemplate >= 0 && firstTemplate < items.length - 1;
  return (line, st) => {
    let snapshot: Map<string, string> | null = null;
    for (const s of steps) {
      if (s.t === null) {
        const v = st.labels.get(s.src);
        if (v !== undefined) {
          st.labels.set(s.dst, v);
          st.labels.delete(s.src);
        }
        continue;
      }
      snapshot ??= templateLabels(st, copy);
      const v = render(s.t, line, st, snapshot);
      if (v !== null) st.labels.set(s.dst, v);
    }
    return line;
  };
}
