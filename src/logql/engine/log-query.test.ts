import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyStats, runLogQL, type LogQLRequest } from './index.ts';
import { MemoryLogSource, type LokiPushBody } from './memory-source.ts';

const T0 = 1_767_225_600_000_000_000n;
const ts = (i: number) => String(T0 + BigInt(i) * 1_000_000_000n);

const body: LokiPushBody = {
  streams: [
    {
      stream: { job: 'api', host: 'a' },
      values: [
        [ts(0), '{"level":"info","msg":"héllo"}', { pod: 'p1' }],
        [ts(1), '{"level":"error","msg":"boom"}', { pod: 'p2' }],
        [ts(2), 'not json'],
      ],
    },
    { stream: { job: 'api', host: 'b' }, values: [[ts(3), '{"level":"info","pod":"p9"}', { pod: 'p9' }]] },
  ],
};

const request = (query: string, extra: Partial<LogQLRequest> = {}): LogQLRequest => ({
  query,
  startNs: T0,
  endNs: T0 + 3600n * 1_000_000_000n,
  stepNs: 0n,
  instant: false,
  limit: 100,
  direction: 'forward',
  limits: { maxEntriesLimitPerQuery: 5000, maxQuerySeries: 500 },
  ...extra,
});

describe('log queries with categorize-labels', () => {
  it('keeps only stream labels in `stream`; metadata and parsed labels go with each line', async () => {
    const data = await runLogQL(
      new MemoryLogSource(body),
      request('{job="api"} | json | drop __error_details__', { categorizeLabels: true }),
    );
    assert.equal(data.resultType, 'streams');
    assert.deepEqual(data.result, [
      {
        stream: { job: 'api', host: 'a' },
        values: [
          [
            ts(0),
            '{"level":"info","msg":"héllo"}',
            { structuredMetadata: { pod: 'p1' }, parsed: { level: 'info', msg: 'héllo' } },
          ],
          [
            ts(1),
            '{"level":"error","msg":"boom"}',
            { structuredMetadata: { pod: 'p2' }, parsed: { level: 'error', msg: 'boom' } },
          ],
          [ts(2), 'not json', { parsed: { __error__: 'JSONParserErr' } }],
        ],
      },
      {
        stream: { job: 'api', host: 'b' },
        // the parsed `pod` equals the metadata value: reported as structured metadata (see log-query.ts)
        values: [
          [
            ts(3),
            '{"level":"info","pod":"p9"}',
            { structuredMetadata: { pod: 'p9' }, parsed: { level: 'info' } },
          ],
        ],
      },
    ]);
  });

  it('without the flag every label is in `stream`, one stream per label set', async () => {
    const data = await runLogQL(new MemoryLogSource(body), request('{host="a"}'));
    assert.equal(data.resultType, 'streams');
    assert.deepEqual(
      data.result.map((s) => s.stream),
      [
        { job: 'api', host: 'a', pod: 'p1' },
        { job: 'api', host: 'a', pod: 'p2' },
        { job: 'api', host: 'a' },
      ],
    );
  });

  it('a parsed key named like a stream label is parsed (`_extracted`); a dropped stream label is gone', async () => {
    const data = await runLogQL(
      new MemoryLogSource({
        streams: [{ stream: { job: 'api', host: 'b' }, values: [[ts(5), 'host=x level=info']] }],
      }),
      request('{host="b"} | logfmt | drop job', { categorizeLabels: true }),
    );
    assert.deepEqual(data.result, [
      {
        stream: { host: 'b' },
        values: [[ts(5), 'host=x level=info', { parsed: { host_extracted: 'x', level: 'info' } }]],
      },
    ]);
  });

  it('a stream label changed by label_format is parsed, no longer a stream label', async () => {
    const data = await runLogQL(
      new MemoryLogSource(body),
      request('{host="b"} | label_format host="h-{{.host}}"', { categorizeLabels: true }),
    );
    assert.deepEqual(data.result, [
      {
        stream: { job: 'api' },
        values: [
          [
            ts(3),
            '{"level":"info","pod":"p9"}',
            { structuredMetadata: { pod: 'p9' }, parsed: { host: 'h-b' } },
          ],
        ],
      },
    ]);
  });
});

describe('log query limits and stats', () => {
  it("more stream-label sets than max_query_series fails with Loki's message; metadata does not count", async () => {
    const limits = { maxEntriesLimitPerQuery: 5000, maxQuerySeries: 1 };
    await assert.rejects(runLogQL(new MemoryLogSource(body), request('{job="api"}', { limits })), {
      message: 'maximum number of series (1) reached for a single query',
      status: 400,
    });
    // host="a" is one stream whatever its lines' pods: three label sets, one series
    const data = await runLogQL(new MemoryLogSource(body), request('{host="a"}', { limits }));
    assert.equal(data.result.length, 3);
  });

  it('counts lines read, their UTF-8 bytes and the entries returned', async () => {
    const stats = emptyStats();
    await runLogQL(new MemoryLogSource(body), request('{job="api"} |= "info"'), stats);
    const lines = body.streams.flatMap((s) => s.values.map((v) => v[1]));
    const read = lines.filter((l) => l.includes('info'));
    assert.equal(stats.entriesReturned, 2);
    // the memory source applies line filters while reading, as the SQL source does
    assert.equal(stats.linesProcessed, read.length);
    assert.equal(
      stats.bytesProcessed,
      read.reduce((n, l) => n + Buffer.byteLength(l), 0),
    );
    assert.ok(stats.bytesProcessed > read.reduce((n, l) => n + l.length, 0), 'é is two bytes');
  });

  it('a pushed-down count counts the lines it aggregated', async () => {
    const stats = emptyStats();
    const source = new MemoryLogSource(body);
    await runLogQL(source, request('count_over_time({job="api"}[1h])', { stepNs: 60_000_000_000n }), stats);
    assert.ok(source.bucketReads > 0, 'the pushdown path ran');
    assert.equal(stats.linesProcessed, 4);
    assert.equal(stats.entriesReturned, 0);
  });
});
