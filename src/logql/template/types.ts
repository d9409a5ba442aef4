/**
 * The contract between the template engine (this folder: Go text/template with Loki's functions)
 * and the pipeline's `line_format` / `label_format` stages.
 */

/** What a template sees: `.label` fields, `__line__`, `__timestamp__`. */
export interface TemplateData {
  line: string;
  /** the entry's timestamp, ns */
  ts: bigint;
  labels: ReadonlyMap<string, string>;
}

export interface Template {
  /** Renders; a runtime failure throws TemplateExecError (the stage sets `__error__=TemplateFormatErr`). */
  render(data: TemplateData): string;
}

export class TemplateParseError extends Error {}
export class TemplateExecError extends Error {}
