/** A LogQL workload for limit and responsiveness tests: logfmt lines that only JS can filter. */
import assert from 'node:assert/strict';
import type { ServerProcess } from './harness.ts';

export const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
export const HOUR_NS = 3_600_000_000_000n;

/** matches nothing, but every line goes through logfmt in JS: nothing can be pushed down */
export const HEAVY_QUERY = '{job="heavy"} | logfmt | user="nobody"';

/** `lines` logfmt lines in one stream, 10 ms apart from T0, pushed in batches of 50,000. */
export async function pushLogfmtLines(
  server: ServerProcess,
  stream: Record<string, string>,
  lines: number,
): Promise<void> {
  const batch = 50_000;
  for (let off = 0; off < lines; off += batch) {
    const values: [string, string][] = [];
    for (let i = off; i < Math.min(lines, off + batch); i++)
      values.push([
        String(T0 + BigInt(i) * 10_000_000n),
        `level=info msg="request ${i}" status=200 user=u${i % 97}`,
      ]);
    const res = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream, values }] }),
    });
    assert.equal(res.status, 204, await res.text());
  }
}

/** query_range over the hour after T0. */
export const rangePath = (query: string, limit = 10) =>
  `/loki/api/v1/query_range?${new URLSearchParams({ query, start: String(T0), end: String(T0 + HOUR_NS), limit: String(limit) }).toString()}`;
