/**
 * Done-when 4 of issue 5: the server stays responsive while a heavy LogQL query runs. The heavy
 * query parses every line of 200,000 with logfmt in JS (nothing can be pushed down to SQL);
 * meanwhile `/ready` and a small query must keep answering: the reader yields to the event loop
 * between batches.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';

const T0 = 1_767_225_600_000_000_000n;
const LINES = 200_000;
const BATCH = 50_000;

let server: ServerProcess;
before(async () => {
  server = await startServer();
  for (let off = 0; off < LINES; off += BATCH) {
    const values: [string, string][] = [];
    for (let i = off; i < off + BATCH; i++)
      values.push([
        String(T0 + BigInt(i) * 10_000_000n),
        `level=info msg="request ${i}" status=200 user=u${i % 97}`,
      ]);
    const res = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        streams: [
          { stream: { job: 'heavy' }, values },
          { stream: { job: 'small' }, values: values.slice(0, 10) },
        ],
      }),
    });
    assert.equal(res.status, 204, await res.text());
  }
});
after(async () => {
  await server?.stop();
});

const rangePath = (query: string) =>
  `/loki/api/v1/query_range?${new URLSearchParams({ query, start: String(T0), end: String(T0 + 3600n * 1_000_000_000n), limit: '10' }).toString()}`;

test('/ready and a small query answer while a heavy query runs', async () => {
  let heavyDone = false;
  const heavy = server.fetch(rangePath('{job="heavy"} | logfmt | user="nobody"')).then(async (r) => {
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
