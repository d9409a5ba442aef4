/**
 * The server warms its PromQL engine at start (query.warmup, on by default): the warm-up runs over
 * synthetic in-memory data, finishes, and never touches the org's data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.ts';

test('warm-up at start: logged when done, no stream or series created', async () => {
  const server = await startServer({ env: { MOLESIGNAL_QUERY_WARMUP: 'true', MOLESIGNAL_LOG_LEVEL: 'debug' } });
  try {
    const deadline = Date.now() + 60_000;
    while (!server.log.includes('PromQL engine warmed up') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(server.log, /PromQL engine warmed up/);
    assert.match(server.log, /"evaluations":360/);
    const streams = (await (await server.fetch('/api/default/streams')).json()) as { list: unknown[] };
    assert.deepEqual(streams.list, [], 'no stream written');
    const series = (await (await server.fetch('/api/v1/series?match[]={__name__=~".+"}')).json()) as { data: unknown[] };
    assert.deepEqual(series.data, [], 'no series registered');
  } finally {
    await server.stop();
  }
});
