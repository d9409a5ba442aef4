/**
 * The seam to the log pipeline (src/logql/pipeline/): compiles a selector's stages into what
 * range aggregations run per line. Until the pipeline module lands this supports selectors
 * without stages and with string line filters only, and says so for anything else.
 */
import type { LogSelectorExpr, UnwrapStage } from '../../ast.ts';
import { lineTest } from '../memory-source.ts';
import type { CompiledExtractor, CompiledPipeline, LogEntry } from '../../pipeline/types.ts';
import { queryError } from './errors.ts';

export interface MetricPipelines {
  pipeline(selector: LogSelectorExpr): CompiledPipeline;
  extractor(selector: LogSelectorExpr, unwrap: UnwrapStage): CompiledExtractor;
}

function baseLabels(entry: LogEntry): Map<string, string> {
  const labels = new Map(Object.entries(entry.stream));
  for (const [k, v] of Object.entries(entry.metadata)) labels.set(k, v);
  return labels;
}

export const builtinPipelines: MetricPipelines = {
  pipeline(selector) {
    const filters = selector.pipeline.map((stage) => {
      const test = stage.type === 'LineFilter' ? lineTest(stage) : null;
      if (test === null)
        throw queryError(
          `pipeline stage ${stage.type} ${'op' in stage ? stage.op : ''} is not supported yet`,
        );
      return test;
    });
    return {
      process(entry) {
        for (const f of filters) if (!f(entry.line)) return null;
        return { line: entry.line, labels: baseLabels(entry) };
      },
    };
  },
  extractor() {
    throw queryError('unwrap is not supported yet');
  },
};
