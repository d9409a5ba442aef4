/**
 * The TraceQL conformance run: starts a MoleSignal server on a temp data dir, POSTs every
 * `<dir>/data/*.json` to `/v1/traces` (OTLP/JSON), flushes, runs every request of
 * `<dir>/queries.json` against `/api/search` with the parameters exactly as recorded, and compares
 * each answer with `<dir>/expected/<id>.json` (compare.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { call, runRecordedSet, type Server } from '../../../logql/conformance/runner.ts';
import type { QueryReport, RunOptions } from '../../../lib/conformance-cli.ts';
import { compareAnswer, type Expected } from './compare.ts';

export interface ConformanceQuery {
  id: string;
  category: string;
  q?: string;
  tags?: string;
  minDuration?: string;
  maxDuration?: string;
  start: number;
  end: number;
  limit?: number;
  spss?: number;
}

export function runConformance(dir: string, opts: RunOptions = {}): Promise<QueryReport[]> {
  return runRecordedSet<ConformanceQuery, Expected>(
    dir,
    {
      name: 'traceql',
      async load(s: Server, d: string) {
        const files = (await readdir(join(d, 'data'))).filter((f) => f.endsWith('.json')).sort();
        for (const f of files) {
          const r = await call(s, '/v1/traces', {
            method: 'POST',
            body: await readFile(join(d, 'data', f)),
            headers: { 'content-type': 'application/json' },
          });
          if (r.status !== 200)
            throw new Error(`loading data/${f}: /v1/traces answered ${r.status}: ${r.text.slice(0, 300)}`);
        }
      },
      // the recorded parameters, in the recorded order
      path: (_q, expected) =>
        `${expected.request.path}?${new URLSearchParams(expected.request.params).toString()}`,
      label: (q) => q.q ?? `tags=${q.tags ?? ''}`,
      compare: (expected, actual) => compareAnswer(expected, actual),
    },
    opts,
  );
}
