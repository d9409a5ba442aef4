/**
 * Issue 4, Done-when 2 for syslog: malformed input over TCP and UDP (bad octet counts, counts over
 * the limit, over-long lines and datagrams, broken RFC 5424 headers, invalid UTF-8, timestamps far
 * in the future). A bad frame closes only its connection, after the frames before it are stored;
 * a bad message is refused alone; the server keeps serving. Then SIGKILL and WAL replay: the same
 * rows come back, RFC 3164 timestamps included (their zone travels with the batch, so a restart in
 * another time zone changes nothing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { removeDir, startServer, type ServerProcess } from './harness.ts';
import { metricValue, octetFrame, sendTcp, sendUdp, syslogPorts, waitRows } from './syslog-kit.ts';

const MAX = 1024;

describe('syslog: malformed input', () => {
  let server: ServerProcess;
  let ports: Record<string, number>;
  before(async () => {
    server = await startServer({
      args: ['--syslog-udp-port', '0', '--syslog-tcp-port', '0'],
      env: { MOLESIGNAL_SYSLOG_MAX_MESSAGE_BYTES: String(MAX), MOLESIGNAL_SYSLOG_TCP_STREAM: 'bad' },
    });
    ports = await syslogPorts(server, ['udp', 'tcp']);
  });
  after(async () => {
    await server.stop();
    await removeDir(server.dataDir);
  });

  /** Sends the chunks and reports whether the server closed the connection before we did. */
  async function sendExpectClose(chunks: Buffer[]): Promise<boolean> {
    const socket = connect(ports.tcp!, '127.0.0.1');
    await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
    let closedByServer = false;
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => (closedByServer = true));
    for (const c of chunks) socket.write(c);
    const closed = new Promise<void>((ok) => socket.once('close', () => ok()));
    const timer = setTimeout(() => socket.destroy(), 5000);
    await closed;
    clearTimeout(timer);
    return closedByServer;
  }

  test('TCP: bad frames close their connection only; bad messages are refused alone', async () => {
    const h = 'badhost';
    const invalidUtf8 = Buffer.concat([
      Buffer.from(`<13>1 - ${h} app - - - utf8 `),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from(' end'),
    ]);
    const closed = await sendExpectClose([
      octetFrame(`<13>1 - ${h} app - - - good-1`),
      Buffer.from(`<13>1 - ${h} app - - - good-2\n`),
      octetFrame(`<13>1 not-a-time ${h} app - - - bad header`),
      octetFrame(invalidUtf8),
      octetFrame(`<13>1 9999-01-01T00:00:00Z ${h} app - - - year 9999`),
      octetFrame(`<13>1 2200-01-01T00:00:00Z ${h} app - - - year 2200`),
      Buffer.from(`<13>1 - ${h} app - - - ${'x'.repeat(MAX + 100)}\n`),
      octetFrame(`<13>1 - ${h} app - - - good-3`),
      Buffer.from(`12x <13>1 - ${h} app - - - after-bad-count\n`),
    ]);
    assert.equal(closed, true, 'the server closes a connection with a bad octet count');
    const closedOverLimit = await sendExpectClose([
      octetFrame(`<13>1 - ${h} app - - - good-4`),
      Buffer.from(`${MAX + 1} <13>1 - ${h} app - - - too long`),
    ]);
    assert.equal(closedOverLimit, true, 'the server closes a connection announcing a frame over the limit');
    // the server still serves new connections
    await sendTcp(ports.tcp!, [octetFrame(`<13>1 - ${h} app - - - good-5`)]);
    const rows = await waitRows(
      server,
      `SELECT body, _timestamp FROM logs.bad WHERE "resource.host.name" = '${h}' ORDER BY body`,
      7,
    );
    await new Promise((r) => setTimeout(r, 300)); // nothing else may arrive late
    const again = await server.search(`SELECT count(*) AS c FROM logs.bad`);
    assert.equal(Number(again.hits[0]!.c), 7);
    assert.deepEqual(
      rows.map((r) => r.body),
      ['good-1', 'good-2', 'good-3', 'good-4', 'good-5', 'utf8 \uFFFD(\uFFFD end', 'year 2200'],
    );
    assert.equal(
      rows.find((r) => r.body === 'year 2200')!._timestamp,
      String(BigInt(Date.UTC(2200, 0, 1)) * 1_000_000n),
    );
    assert.equal(
      await metricValue(server, 'molesignal_syslog_dropped_total{transport="tcp",reason="bad_frame"}'),
      2,
    );
    assert.equal(
      await metricValue(server, 'molesignal_syslog_dropped_total{transport="tcp",reason="oversize"}'),
      1,
    );
    assert.equal(
      await metricValue(server, 'molesignal_syslog_dropped_total{transport="tcp",reason="invalid"}'),
      2,
    );
  });

  test('UDP: over-long and broken datagrams are dropped and counted, the rest stored', async () => {
    await sendUdp(ports.udp!, [
      Buffer.from(`<13>1 - udphost app - - - ${'y'.repeat(MAX + 1)}`),
      Buffer.from('<13>1 - udphost app - - [unclosed a="b"'),
      Buffer.alloc(0),
      Buffer.from('<13>1 - udphost app - - - udp ok\n'),
    ]);
    const rows = await waitRows(
      server,
      `SELECT body FROM logs.syslog WHERE "resource.host.name" = 'udphost'`,
      1,
    );
    assert.deepEqual(
      rows.map((r) => r.body),
      ['udp ok'],
    );
    assert.equal(
      await metricValue(server, 'molesignal_syslog_dropped_total{transport="udp",reason="oversize"}'),
      1,
    );
    assert.equal(
      await metricValue(server, 'molesignal_syslog_dropped_total{transport="udp",reason="invalid"}'),
      1,
    );
  });
});

describe('syslog: SIGKILL and WAL replay', () => {
  test('the same rows after a crash, even when the restart runs in another time zone', async () => {
    let server = await startServer({ args: ['--syslog-tcp-port', '0'], env: { TZ: 'America/New_York' } });
    const dataDir = server.dataDir;
    try {
      const ports = await syslogPorts(server, ['tcp']);
      const now = new Date();
      const mon = now.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
      const clock = now.toISOString().slice(11, 19);
      const bsd = `${mon} ${String(now.getUTCDate()).padStart(2, ' ')} ${clock}`;
      const frames: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        frames.push(
          octetFrame(
            i % 2 === 0
              ? `<${(i % 24) * 8 + (i % 8)}>1 2026-11-22T10:00:${String(i).padStart(2, '0')}.${i}Z h${i % 3} app${i % 4} ${i} M${i} [sd@1 n="${i}" r="a" r="b"] message ${i}`
              : `<${i}>${bsd} h${i % 3} tag${i}[${i}]: message ${i}`,
          ),
        );
      }
      await sendTcp(ports.tcp!, frames);
      const sql = 'SELECT * FROM logs.syslog ORDER BY body';
      const before = await waitRows(server, sql, 40);
      assert.equal(before.length, 40);
      // 3164 timestamps were placed in the server's zone at receive time (New York: UTC-4 or -5)
      const bsdRow = before.find((r) => r.body === 'message 1')!;
      const naiveUtcMs =
        Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) +
        Date.parse(`1970-01-01T${clock}Z`);
      const shiftH = (Number(BigInt(bsdRow._timestamp as string) / 1_000_000n) - naiveUtcMs) / 3_600_000;
      assert.ok(shiftH === 4 || shiftH === 5, `3164 timestamp shifted by ${shiftH} h`);
      assert.equal(before.find((r) => r.body === 'message 0')!['attr.syslog.sd.sd@1.r'], 'a,b');
      await server.kill();
      server = await startServer({ dataDir, env: { TZ: 'Asia/Tokyo' } });
      const afterRows = (await server.search(sql)).hits;
      assert.deepEqual(afterRows, before);
    } finally {
      await server.stop();
      await removeDir(dataDir);
    }
  });
});

describe('syslog: graceful shutdown', () => {
  test('SIGTERM with a connection open: every framed message is written before the server exits', async () => {
    // a batch window of 1 s keeps the messages in the batcher when SIGTERM arrives
    let server = await startServer({
      args: ['--syslog-tcp-port', '0'],
      env: { MOLESIGNAL_SYSLOG_BATCH_WINDOW_MS: '1000' },
    });
    const dataDir = server.dataDir;
    try {
      const ports = await syslogPorts(server, ['tcp']);
      const socket = connect(ports.tcp!, '127.0.0.1');
      await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
      socket.on('error', () => {});
      const closed = new Promise<void>((ok) => socket.once('close', () => ok()));
      const frames = [1, 2, 3].map((i) => octetFrame(`<13>1 - h app - - - pending ${i}`));
      await new Promise<void>((ok) =>
        socket.write(Buffer.concat([...frames, Buffer.from('9 <13>1')]), () => ok()),
      );
      await new Promise((r) => setTimeout(r, 200)); // read by the server, not yet written
      await server.stop();
      await closed; // the server closed the connection
      assert.equal(server.exitCode, 0);
      server = await startServer({ dataDir });
      const rows = (await server.search('SELECT body FROM logs.syslog ORDER BY body')).hits;
      assert.deepEqual(
        rows.map((r) => r.body),
        ['pending 1', 'pending 2', 'pending 3'],
      );
    } finally {
      await server.stop();
      await removeDir(dataDir);
    }
  });
});
