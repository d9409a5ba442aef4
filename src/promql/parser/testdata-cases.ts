/** Reads the `eval` queries of Prometheus' PromQL test files (for the parser's conformance test). */
import { readdirSync, readFileSync } from 'node:fs';

/** experimental syntax this parser does not implement */
export const SKIP_FILES = new Set(['duration_expression', 'fill-modifier', 'extended_vectors', 'info', 'type_and_unit', 'start_timestamps']);

export interface EvalCase {
  file: string;
  line: number;
  query: string;
  expectFail: boolean;
}

export function readEvalCases(dir: string): EvalCase[] {
  const out: EvalCase[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.test') || SKIP_FILES.has(name.slice(0, -5))) continue;
    const lines = readFileSync(dir + name, 'utf8').split('\n');
    lines.forEach((line, idx) => {
      const m = /^eval(_fail|_ordered|_warn|_info)? +(?:instant +at +\S+|range +from +\S+ +to +\S+ +step +\S+) +(.*)$/.exec(line);
      if (!m) return;
      let expectFail = m[1] === '_fail';
      for (let j = idx + 1; j < lines.length; j++) {
        const l = lines[j] ?? '';
        if (!/^\s/.test(l) || l.trim() === '') break;
        if (/^\s+expect\s+fail\b/.test(l)) expectFail = true;
      }
      out.push({ file: name, line: idx + 1, query: m[2] ?? '', expectFail });
    });
  }
  return out;
}

/** A copy without `pos` fields, for comparing trees. */
export function stripPos(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(stripPos);
  if (e !== null && typeof e === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (k !== 'pos') o[k] = stripPos(v);
    return o;
  }
  return e;
}
