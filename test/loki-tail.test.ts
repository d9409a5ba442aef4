/**
 * Live tail over a real WebSocket (the `ws` package's client): a pushed line reaches a tail
 * client within 1 s of the push's acknowledgment, filtered by the stream selector and the
 * pipeline, in Loki's frame format; history since `start` comes first; 50 idle clients cause no
 * storage reads (molesignal_storage_reads_total on /metrics), because tail is fed from the write
 * path; bad requests are refused before the upgrade.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ROOT_AUTH, startServer, type ServerProcess } from './harness.ts';

interface Frame {
  streams: { stream: Record<string, string>; values: [string, string][] }[];
  dropped_entries: unknown;
}

class TailConn {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  lines(): string[] {
    return this.frames.flatMap((f) => f.streams.flatMap((s) => s.values.map((v) => v[1])));
  }
  /** Resolves when `n` lines have arrived; rejects after `ms`. */
  async waitLines(n: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.lines().length < n) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`got ${this.lines().length} of ${n} lines: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  close(): void {
    this.ws.close();
  }
}

describe('Loki live tail over WebSocket', () => {
  let server: ServerProcess;
  const open: TailConn[] = [];
  const wsUrl = (params: Record<string, string>) =>
    `${server.url.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams(params).toString()}`;
  const connect = (params: Record<string, string>, headers: Record<string, string> = {}) =>
    new Promise<TailConn>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(params), {
        headers: { authorization: ROOT_AUTH, 'x-scope-orgid': 'default', ...headers },
      });
      const conn = new TailConn(ws);
      ws.once('open', () => {
        open.push(conn);
        resolve(conn);
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => reject(Object.assign(new Error(body), { status: res.statusCode })));
      });
      ws.once('error', reject);
    });
  const push = async (streams: { stream: Record<string, string>; values: [string, string][] }[]) => {
    const res = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': 'default' },
      body: JSON.stringify({ streams }),
    });
    assert.equal(res.status, 204, await res.text());
  };
  const nowNs = () => String(BigInt(Date.now()) * 1_000_000n);
  const storageReads = async () => {
    const text = await (await server.fetch('/metrics', { auth: null })).text();
    const m = /^molesignal_storage_reads_total (\d+)/m.exec(text);
    assert.ok(m, 'molesignal_storage_reads_total is on /metrics');
    return Number(m[1]);
  };

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const c of open) c.close();
    await server?.stop();
  });

  test('a pushed line reaches the client within 1 s, filtered by selector and pipeline', async () => {
    const conn = await connect({ query: '{job="tail"} |= "hello" | json | level="error"' });
    const t0 = nowNs();
    await push([
      {
        stream: { job: 'tail', host: 'h1' },
        values: [
          [t0, '{"level":"error","msg":"hello world"}'],
          [t0, '{"level":"info","msg":"hello again"}'],
          [t0, '{"level":"error","msg":"bye"}'],
        ],
      },
      { stream: { job: 'other' }, values: [[t0, '{"level":"error","msg":"hello other"}']] },
    ]);
    const acked = performance.now();
    await conn.waitLines(1);
    const ms = performance.now() - acked;
    assert.ok(ms < 1000, `the line arrived ${Math.round(ms)} ms after the push was acknowledged`);
    assert.deepEqual(conn.frames[0], {
      streams: [
        {
          stream: { host: 'h1', job: 'tail', level: 'error', msg: 'hello world' },
          values: [[t0, '{"level":"error","msg":"hello world"}']],
        },
      ],
      dropped_entries: null,
    });
    conn.close();
  });

  test('history since start comes first, oldest first, at most limit lines', async () => {
    const base = BigInt(Date.now() - 60_000) * 1_000_000n;
    await push([
      {
        stream: { job: 'hist' },
        values: [1, 2, 3].map((i): [string, string] => [String(base + BigInt(i)), `old ${i}`]),
      },
    ]);
    const conn = await connect({ query: '{job="hist"}', start: String(base - 1_000_000_000n), limit: '2' });
    await conn.waitLines(2);
    assert.deepEqual(conn.lines(), ['old 2', 'old 3']);
    await push([{ stream: { job: 'hist' }, values: [[nowNs(), 'new 1']] }]);
    await conn.waitLines(3);
    assert.deepEqual(conn.lines(), ['old 2', 'old 3', 'new 1']);
  });

  test('50 idle tail clients add no storage reads; a push reaches all without reading storage', async () => {
    const conns = await Promise.all(Array.from({ length: 50 }, () => connect({ query: '{job="idle"}' })));
    await push([{ stream: { job: 'idle' }, values: [[nowNs(), 'wake 1']] }]);
    await Promise.all(conns.map((c) => c.waitLines(1)));
    const before = await storageReads();
    // idle for a while: nothing may poll storage meanwhile
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await storageReads(), before, 'idle tail clients read storage');
    await push([{ stream: { job: 'idle' }, values: [[nowNs(), 'wake 2']] }]);
    await Promise.all(conns.map((c) => c.waitLines(2)));
    assert.equal(await storageReads(), before, 'a push to tail clients read storage');
    for (const c of conns) assert.deepEqual(c.lines(), ['wake 1', 'wake 2']);
  });

  test('bad requests are refused before the upgrade, with a message', async () => {
    const cases: [Record<string, string>, Record<string, string>, number, RegExp][] = [
      [{}, {}, 400, /missing query/],
      [{ query: '{job=~".*"}' }, {}, 400, /empty-compatible/],
      [{ query: '{job="x"}', delay_for: '10' }, {}, 400, /delay_for can't be greater than 5/],
      [{ query: '{job="x"}', limit: '0' }, {}, 400, /invalid limit/],
      [{ query: '{job="x"}' }, { authorization: 'Basic bm9ib2R5Om5vcGU=' }, 401, /./],
    ];
    for (const [params, headers, status, message] of cases) {
      const err = (await connect(params, headers).then(
        () => assert.fail(`connected with ${JSON.stringify(params)}`),
        (e: unknown) => e,
      )) as Error & { status: number };
      assert.equal(err.status, status, `${JSON.stringify(params)}: ${err.message}`);
      assert.match(err.message, message);
    }
    const plain = await server.fetch('/loki/api/v1/tail?query=%7Bjob%3D%22x%22%7D', {
      headers: { 'x-scope-orgid': 'default' },
    });
    assert.equal(plain.status, 400);
    assert.match(await plain.text(), /WebSocket/);
  });
});
