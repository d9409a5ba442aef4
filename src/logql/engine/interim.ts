/**
 * INTERIM — removed when the LogQL pipeline (src/logql/pipeline) lands on main: a pipeline that
 * runs line filters only, so the engine, the HTTP layer and the conformance runner can be built
 * and tested before it. Any other stage is a 400 saying it is not supported yet.
 */
import { badRequest } from '../../lib/errors.ts';
import { translateRe2 } from '../../promql/functions/re2.ts';
import type { LineFilterStage, PipelineStage } from '../ast.ts';
import type { CompiledPipeline, LogEntry, PipelineOutput } from '../pipeline/types.ts';

function lineTest(f: LineFilterStage): (line: string) => boolean {
  const values = f.values.map((v) => v.value);
  if (f.op === '|=' || f.op === '!=') {
    const keep = f.op === '|=';
    return (line) => values.some((v) => line.includes(v)) === keep;
  }
  const res = values.map((v) => {
    const t = translateRe2(v);
    return new RegExp(t.source, `u${t.flags}`);
  });
  const keep = f.op === '|~';
  return (line) => res.some((re) => re.test(line)) === keep;
}

export function compilePipeline(stages: readonly PipelineStage[]): CompiledPipeline {
  const tests = stages.map((s) => {
    if (s.type !== 'LineFilter') throw badRequest(`pipeline stage ${s.type} is not supported yet`);
    return lineTest(s);
  });
  return {
    process(entry: LogEntry): PipelineOutput | null {
      for (const t of tests) if (!t(entry.line)) return null;
      const labels = new Map(Object.entries(entry.stream));
      for (const [k, v] of Object.entries(entry.metadata)) labels.set(k, v);
      return { line: entry.line, labels };
    },
  };
}
