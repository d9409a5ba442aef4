/**
 * Compiles LogQL pipeline stages (src/logql/ast.ts) into closures that run per log line
 * (src/logql/pipeline/types.ts). Stage order is Loki's: line filters move ahead of every other
 * stage up to the next `line_format` (Loki's reorderStages), which is why a line filter written
 * after `| decolorize` or `| unpack` still tests the original line.
 */
import type { LineFilterStage, PipelineStage, UnwrapStage } from '../ast.ts';
import { parseGoDuration, parseGoFloat, parseHumanBytes, type Parsed } from './go-conversions.ts';
import { jsonAllStage, jsonParamsStage, type Stage, unpackStage } from './json.ts';
import { compileLabelFilter } from './label-filter.ts';
import { LabelState } from './labels.ts';
import { allOf, compileLineFilter, type LineTest } from './line-filter.ts';
import { logfmtAllStage, logfmtParamsStage } from './logfmt.ts';
import { decolorizeStage, dropStage, keepStage, patternStage, regexpStage } from './stages.ts';
import { labelFormatStage, lineFormatStage } from './format.ts';
import type { CompiledExtractor, CompiledPipeline, LogEntry, PipelineOutput, SampleOutput } from './types.ts';

export { compileLineFilter } from './line-filter.ts';
export type { LineTest } from './line-filter.ts';
export { compileMatcher } from './label-filter.ts';
export * from './types.ts';

export const SAMPLE_EXTRACTION_ERR = 'SampleExtractionErr';

/** Loki's reorderStages: line filters first within each segment that ends at a line_format. */
export function reorderStages(stages: readonly PipelineStage[]): PipelineStage[] {
  const out: PipelineStage[] = [];
  let filters: PipelineStage[] = [];
  let rest: PipelineStage[] = [];
  for (const s of stages) {
    if (s.type === 'LineFilter') filters.push(s);
    else if (s.type === 'LineFormat') {
      out.push(...filters, ...rest, s);
      filters = [];
      rest = [];
    } else rest.push(s);
  }
  return [...out, ...filters, ...rest];
}

function compileStage(s: Exclude<PipelineStage, LineFilterStage>): Stage {
  switch (s.type) {
    case 'Json':
      return s.params.length === 0 ? jsonAllStage() : jsonParamsStage(s.params);
    case 'Logfmt': {
      const opts = { strict: s.strict, keepEmpty: s.keepEmpty };
      return s.params.length === 0 ? logfmtAllStage(opts) : logfmtParamsStage(s.params, opts);
    }
    case 'Regexp':
      return regexpStage(s.pattern);
    case 'Pattern':
      return patternStage(s.pattern);
    case 'Unpack':
      return unpackStage();
    case 'LabelFilter': {
      const t = compileLabelFilter(s.filter);
      return (line, st) => (t(st) ? line : null);
    }
    case 'LineFormat':
      return lineFormatStage(s.template);
    case 'LabelFormat':
      return labelFormatStage(s.items);
    case 'Drop':
      return dropStage(s.items);
    case 'Keep':
      return keepStage(s.items);
    case 'Decolorize':
      return decolorizeStage();
  }
}

interface Compiled {
  /** the line filters that run before anything else, on the raw line */
  prefix: LineTest | null;
  stages: Stage[];
}

function compileAll(stages: readonly PipelineStage[]): Compiled {
  const ordered = reorderStages(stages);
  let k = 0;
  const prefixTests: LineTest[] = [];
  for (; k < ordered.length; k++) {
    const s = ordered[k]!;
    if (s.type !== 'LineFilter') break;
    prefixTests.push(compileLineFilter(s));
  }
  const compiled: Stage[] = [];
  for (; k < ordered.length; k++) {
    const s = ordered[k]!;
    if (s.type === 'LineFilter') {
      const t = compileLineFilter(s);
      compiled.push((line) => (t(line) ? line : null));
    } else compiled.push(compileStage(s));
  }
  return { prefix: prefixTests.length === 0 ? null : allOf(prefixTests), stages: compiled };
}

/** Runs the stages; the line as it leaves them, or null when one dropped it. */
function run(c: Compiled, st: LabelState, entry: LogEntry): string | null {
  let line: string | null = entry.line;
  if (c.prefix !== null && !c.prefix(line)) return null;
  st.reset(entry);
  for (const s of c.stages) {
    line = s(line, st);
    if (line === null) return null;
  }
  return line;
}

export function compilePipeline(stages: readonly PipelineStage[]): CompiledPipeline {
  const c = compileAll(stages);
  const st = new LabelState();
  return {
    process(entry: LogEntry): PipelineOutput | null {
      const line = run(c, st, entry);
      if (line === null) return null;
      return { line, labels: st.output() };
    },
  };
}

function converter(conversion: UnwrapStage['conversion']): (s: string) => Parsed {
  switch (conversion) {
    case '':
      return parseGoFloat;
    case 'bytes':
      return parseHumanBytes;
    case 'duration':
    case 'duration_seconds':
      return (s) => {
        const d = parseGoDuration(s);
        return d.ok ? { ok: true, value: d.value / 1e9 } : d;
      };
  }
}

export function compileExtractor(stages: readonly PipelineStage[], unwrap: UnwrapStage): CompiledExtractor {
  const c = compileAll(stages);
  const st = new LabelState();
  const convert = converter(unwrap.conversion);
  const post = unwrap.postFilters.map(compileLabelFilter);
  const name = unwrap.label;
  return {
    process(entry: LogEntry): SampleOutput | null {
      if (run(c, st, entry) === null) return null;
      const raw = st.labels.get(name);
      // Loki: a line without the label (or with an empty one) gives no sample and no error
      if (raw === undefined || raw === '') return null;
      const r = convert(raw);
      let value = 0;
      if (r.ok) value = r.value;
      else st.setError(SAMPLE_EXTRACTION_ERR, r.error);
      for (const f of post) if (!f(st)) return null;
      st.labels.delete(name);
      return { value, labels: st.output() };
    },
  };
}
