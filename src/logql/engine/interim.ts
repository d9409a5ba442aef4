/**
 * INTERIM — removed when the LogQL parser (src/logql/parser) and pipeline (src/logql/pipeline)
 * land on main: a parser for `{selector}` followed by line filters only, and a pipeline that runs
 * line filters only, so the engine, the HTTP layer and the conformance runner can be built and
 * tested before them. Anything else is a 400 saying it is not supported yet.
 */
import { badRequest } from '../../lib/errors.ts';
import { translateRe2 } from '../../promql/functions/re2.ts';
import type { Expr, LineFilterOp, LineFilterStage, Matcher, MatchType, PipelineStage } from '../ast.ts';
import type { CompiledPipeline, LogEntry, PipelineOutput } from '../pipeline/types.ts';

const notYet = (q: string) =>
  badRequest(
    `parse error: only {selector} with line filters is supported yet: ${q.slice(0, 80)}`,
    'MS_ERR_LOGQL_PARSE',
  );

export function parseLogQL(q: string): Expr {
  let i = 0;
  const ws = () => {
    while (i < q.length && /\s/.test(q[i]!)) i++;
  };
  const str = (): string => {
    ws();
    const quote = q[i];
    if (quote === '`') {
      const end = q.indexOf('`', i + 1);
      if (end < 0) throw notYet(q);
      const s = q.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (quote !== '"') throw notYet(q);
    let j = i + 1;
    while (j < q.length && q[j] !== '"') j += q[j] === '\\' ? 2 : 1;
    if (j >= q.length) throw notYet(q);
    const s = JSON.parse(q.slice(i, j + 1)) as string;
    i = j + 1;
    return s;
  };
  ws();
  if (q[i] !== '{') throw notYet(q);
  i++;
  const matchers: Matcher[] = [];
  for (;;) {
    ws();
    if (q[i] === '}') {
      i++;
      break;
    }
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(q.slice(i))?.[0];
    if (!name) throw notYet(q);
    i += name.length;
    ws();
    const op = /^(=~|!~|!=|=)/.exec(q.slice(i))?.[0] as MatchType | undefined;
    if (!op) throw notYet(q);
    i += op.length;
    matchers.push({ name, type: op, value: str() });
    ws();
    if (q[i] === ',') i++;
  }
  const pipeline: PipelineStage[] = [];
  for (;;) {
    ws();
    if (i >= q.length) break;
    const op = /^(\|=|!=|\|~|!~)/.exec(q.slice(i))?.[0] as LineFilterOp | undefined;
    if (!op) throw notYet(q);
    const start = i;
    i += op.length;
    pipeline.push({
      type: 'LineFilter',
      op,
      values: [{ kind: 'string', value: str() }],
      pos: { start, end: i },
    });
  }
  return { type: 'LogSelector', matchers, pipeline, pos: { start: 0, end: q.length } };
}

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
