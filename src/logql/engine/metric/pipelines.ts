/**
 * The seam to the log pipeline (src/logql/pipeline/): compiles a selector's stages into what
 * range aggregations run per line. Tests may pass their own.
 */
import type { LogSelectorExpr, UnwrapStage } from '../../ast.ts';
import { compileExtractor, compilePipeline } from '../../pipeline/index.ts';
import type { CompiledExtractor, CompiledPipeline } from '../../pipeline/types.ts';

export interface MetricPipelines {
  pipeline(selector: LogSelectorExpr): CompiledPipeline;
  extractor(selector: LogSelectorExpr, unwrap: UnwrapStage): CompiledExtractor;
}

export const builtinPipelines: MetricPipelines = {
  pipeline: (selector) => compilePipeline(selector.pipeline),
  extractor: (selector, unwrap) => compileExtractor(selector.pipeline, unwrap),
};
