import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Candidate } from '../span-reader.ts';
import { CandidatePages } from './api.ts';

test('CandidatePages: every candidate once, in order, page after page; no query after a short page', async () => {
  const ids = ['01', '02', '03', '04', '05'];
  const asked: (string | undefined)[] = [];
  const pages = new CandidatePages(async (after) => {
    asked.push(after);
    return ids
      .filter((id) => after === undefined || id > after)
      .slice(0, 2)
      .map((traceId): Candidate => ({ traceId, spans: 1 }));
  }, 2);
  const seen: string[] = [];
  for (let c = await pages.peek(); c; c = await pages.peek()) {
    // peeking again gives the same candidate until it is taken
    assert.equal((await pages.peek())?.traceId, c.traceId);
    seen.push(c.traceId);
    pages.take();
  }
  assert.deepEqual(seen, ids);
  assert.deepEqual(asked, [undefined, '02', '04']);
  assert.equal(await pages.peek(), undefined);
  assert.equal(asked.length, 3);
});
