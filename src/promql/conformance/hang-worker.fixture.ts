/**
 * Test fixture for the isolated runner (isolation.test.ts): a worker like ./worker.ts whose fake
 * engine hangs synchronously on the query `hang` and returns `x 1` for anything else.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Labels } from '../labels.ts';
import type { EngineApi } from './engine-api.ts';
import { runScript, type RunOptions } from './runner.ts';

const input = workerData as { path: string; file: string; opts: RunOptions };
const port = parentPort;

const engine: EngineApi = {
  parseExpr: (q) => {
    if (q === 'hang') for (;;);
    return { type: 'StringLiteral', val: q, pos: { start: 0, end: q.length } };
  },
  instantQuery: (_q, _e, t) => ({
    value: { type: 'vector', samples: [{ metric: Labels.fromRecord({ __name__: 'x' }), t, v: 1 }] },
    annotations: [],
  }),
  rangeQuery: () => ({ value: { type: 'matrix', series: [] }, annotations: [] }),
  errorClasses: [],
};

if (port) {
  await runScript(readFileSync(input.path, 'utf8'), input.file, engine, {
    ...input.opts,
    stepInvariance: false,
    onStart: (ev, needsHistograms) =>
      port.postMessage({ type: 'start', id: ev.id, line: ev.line, query: ev.expr, needsHistograms }),
    onResult: (result) => port.postMessage({ type: 'result', result }),
  });
  port.postMessage({ type: 'done' });
}
