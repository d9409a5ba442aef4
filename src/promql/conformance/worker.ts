/**
 * Runs one test script in a worker thread for the isolated runner (./suite.ts), which restarts it
 * past an eval that hangs synchronously. Messages: {type:'start', id, line}, {type:'result', result},
 * {type:'done'}, {type:'error', message}.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { loadEngine } from './engine-api.ts';
import { runScript, type RunOptions } from './runner.ts';

interface WorkerInput {
  path: string;
  file: string;
  opts: Pick<RunOptions, 'timeoutMs' | 'stepInvariance' | 'skipThroughLine'>;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const input = workerData as WorkerInput;
  try {
    const engine = await loadEngine();
    await runScript(readFileSync(input.path, 'utf8'), input.file, engine, {
      ...input.opts,
      onStart: (ev, needsHistograms) =>
        port.postMessage({ type: 'start', id: ev.id, line: ev.line, query: ev.expr, needsHistograms }),
      onResult: (result) => port.postMessage({ type: 'result', result }),
    });
    port.postMessage({ type: 'done' });
  } catch (e) {
    port.postMessage({ type: 'error', message: (e as Error).message });
  }
}

await main();
