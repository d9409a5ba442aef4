import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Candidate } from '../span-reader.ts';
import { CandidatePages, nextChunk } from './api.ts';

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

test('nextChunk: at most maxTraces traces and maxSpans spans a chunk; a trace over maxSpans is a 400', async () => {
  const c = (traceId: string, spans: number): Candidate => ({ traceId, spans });
  const pages = CandidatePages.of([c('01', 3), c('02', 3), c('03', 4), c('04', 1), c('05', 1), c('06', 1)]);
  assert.deepEqual(await nextChunk(pages, Infinity, 6), ['01', '02']);
  assert.deepEqual(await nextChunk(pages, 2, 6), ['03', '04']);
  assert.deepEqual(await nextChunk(pages, Infinity, 6), ['05', '06']);
  assert.deepEqual(await nextChunk(pages, Infinity, 6), []);
  const big = CandidatePages.of([c('01', 1), c('02', 7)]);
  await assert.rejects(nextChunk(big, Infinity, 6), (e: Error & { status?: number }) => {
    assert.equal(e.status, 400);
    assert.match(
      e.message,
      /trace 02 has 7 spans .* more than query\.traceSearchMaxSpans \(6\).*narrow start\/end/,
    );
    return true;
  });
});
