/**
 * Done-when 4 of issue 5: the server stays responsive while a heavy LogQL query runs. The heavy
 * query parses every line of 200,000 with logfmt in JS (nothing can be pushed down to SQL);
 * meanwhile `/ready` and a small query must keep answering: the reader yields to the event loop
 * between batches.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';
import { HEAVY_QUERY, pushLogfmtLines, rangePath } from './logql-heavy.ts';

const LINES = 200_000;

let server: ServerProcess;
before(async () => {
  server = await startServer();
  await pushLogfmtLines(server, { job: 'heavy' }, LINES);
  await pushLogfmtLines(server, { job: 'small' }, 10);
});
after(async () => {
  await server?.stop();
});

test('/ready and a small query answer while a heavy query runs', async () => {
  let heavyDone = false;
  const heavy = server.fetch(rangePath(HEAVY_QUERY)).then(async (r) => {
    const body = await r.text();
    heavyDone = true;
    return { status: r.status, body };
  });
  let answeredDuring = 0;
  while (!heavyDone) {
    const ready = await server.fetch('/ready');
    const small = await server.fetch(rangePath('{job="small"} |= "request 3"'));
    await ready.text();
    const smallText = await small.text();
    assert.equal(ready.status, 200);
    assert.equal(small.status, 200, smallText);
    if (!heavyDone) answeredDuring++;
  }
  const h = await heavy;
  assert.equal(h.status, 200, h.body);
  assert.deepEqual((JSON.parse(h.body) as { data: { result: unknown[] } }).data.result, []);
  assert.ok(answeredDuring > 0, 'no request was answered while the heavy query ran');
});
