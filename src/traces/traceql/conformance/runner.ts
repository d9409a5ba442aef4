/**
 * The TraceQL conformance run: starts a MoleSignal server on a temp data dir, POSTs every
 * `<dir>/data/*.json` to `/v1/traces` (OTLP/JSON), flushes, runs every request of
 * `<dir>/queries.json` against `/api/search` with the parameters exactly as recorded, and compares
 * each answer with `<dir>/expected/<id>.json` (compare.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { call, startServer, stopServer, type Server } from '../../../logql/conformance/runner.ts';
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

async function load(s: Server, dir: string, flush: boolean): Promise<void> {
  const files = (await readdir(join(dir, 'data'))).filter((f) => f.endsWith('.json')).sort();
  for (const f of files) {
    const r = await call(s, '/v1/traces', {
      method: 'POST',
      body: await readFile(join(dir, 'data', f)),
      headers: { 'content-type': 'application/json' },
    });
    if (r.status !== 200)
      throw new Error(`loading data/${f}: /v1/traces answered ${r.status}: ${r.text.slice(0, 300)}`);
  }
  if (flush) {
    const r = await call(s, '/api/default/streams/default/_flush', { method: 'POST' });
    if (r.status >= 300) throw new Error(`flush answered ${r.status}: ${r.text.slice(0, 300)}`);
  }
}

export async function runConformance(dir: string, opts: RunOptions = {}): Promise<QueryReport[]> {
  const queries = JSON.parse(await readFile(join(dir, 'queries.json'), 'utf8')) as ConformanceQuery[];
  const wanted = opts.ids ? new Set(opts.ids) : null;
  const server = await startServer('traceql');
  const reports: QueryReport[] = [];
  try {
    await load(server, dir, opts.flush ?? true);
    for (const q of queries) {
      if (wanted && !wanted.has(q.id)) continue;
      const expected = JSON.parse(await readFile(join(dir, 'expected', `${q.id}.json`), 'utf8')) as Expected;
      // the recorded parameters, in the recorded order
      const path = `${expected.request.path}?${new URLSearchParams(expected.request.params).toString()}`;
      const started = performance.now();
      let detail: string | null;
      try {
        detail = compareAnswer(expected, await call(server, path, {}, opts.timeoutMs));
      } catch (e) {
        detail = `request failed: ${e instanceof Error ? e.message : String(e)}`;
      }
      const r = {
        id: q.id,
        query: q.q ?? `tags=${q.tags ?? ''}`,
        ok: detail === null,
        detail: detail ?? '',
        ms: performance.now() - started,
      };
      reports.push(r);
      opts.onReport?.(r);
    }
  } finally {
    await stopServer(server);
  }
  return reports;
}
