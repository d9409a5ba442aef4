/**
 * Issue 4, Done-when 1 and 3 for syslog: real senders we did not write — `logger` (util-linux)
 * straight to our UDP and TCP ports, and Debian's rsyslog forwarding RFC 5424 with octet counting
 * over TCP and over UDP (and a 3164 input, and its traditional LF-framed 3164 format) — plus
 * TLS from node's `tls.connect` with a self-signed certificate from the config, the per-listener
 * org/stream mapping, and a TCP client that disconnects mid-frame. Rows are checked field by field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { hasCommand, octetFrame, selfSignedCert, sendTcp, syslogPorts, waitRows } from './syslog-kit.ts';

const RUN = `r${Date.now().toString(36)}`;
/** logger's RFC 5424 MSGID and structured data, as in the ecosystem survey */
const SD_ARGS = ['--msgid', 'ID47', '--sd-id', 'exampleSDID@32473', '--sd-param', 'iut="3"'];
const nowMs = () => Date.now();

function assertRecent(ns: unknown, label: string): void {
  const ms = Number(BigInt(ns as string) / 1_000_000n);
  assert.ok(Math.abs(ms - nowMs()) < 5 * 60_000, `${label} ${String(ns)} is not close to now`);
}

/** The first line of `hostname`: logger sends it (RFC 3164: up to the first dot). */
const HOST = hostname();
const assertHost = (h: unknown) =>
  assert.ok(typeof h === 'string' && HOST.startsWith(h), `host ${String(h)}`);

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', () => ok()));
  const port = s.address().port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

describe('syslog: real senders → MoleSignal → SQL', () => {
  let server: ServerProcess;
  let dir: string;
  let ports: Record<string, number>;
  before(async () => {
    dir = await tempDir('molesignal-syslog-');
    const tls = hasOpenssl() ? selfSignedCert(dir) : null;
    server = await startServer({
      args: ['--syslog-udp-port', '0', '--syslog-tcp-port', '0', ...(tls ? ['--syslog-tls-port', '0'] : [])],
      env: {
        ...(tls ? { MOLESIGNAL_SYSLOG_TLS_CERT: tls.cert, MOLESIGNAL_SYSLOG_TLS_KEY: tls.key } : {}),
        // the TLS listener writes into another org and stream than the default `default`/`syslog`
        MOLESIGNAL_SYSLOG_TLS_ORG: 'secure-org',
        MOLESIGNAL_SYSLOG_TLS_STREAM: 'secure',
      },
    });
    ports = await syslogPorts(server, ['udp', 'tcp', ...(tls ? ['tls'] : [])]);
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  function hasOpenssl(): boolean {
    const r = spawnSyncOk('openssl', ['version']);
    if (!r && process.env.CI === 'true') throw new Error('openssl is not installed (Debian package openssl)');
    return r;
  }

  test('logger: RFC 5424 octet-counted over TCP, RFC 5424 and RFC 3164 over UDP, RFC 3164 over TCP', async (t) => {
    if (!hasCommand(t, 'logger', 'bsdutils')) return;
    const tag = `${RUN}-logger`;
    const send = (args: string[]) => execFileSync('logger', ['-n', '127.0.0.1', ...args], { stdio: 'pipe' });
    send([
      '-P',
      String(ports.tcp),
      '-T',
      '--octet-count',
      '--rfc5424',
      ...SD_ARGS,
      '--sd-param',
      'eventSource="App \\"x\\" \\]"',
      '-t',
      tag,
      '-p',
      'local0.warning',
      'tcp octet 5424',
    ]);
    send(['-P', String(ports.udp), '-d', '--rfc5424', '-i', '-t', tag, '-p', 'auth.err', 'udp 5424 grüße']);
    send(['-P', String(ports.udp), '-d', '--rfc3164', '-t', tag, '-p', 'local7.debug', 'udp 3164']);
    send(['-P', String(ports.tcp), '-T', '--rfc3164', '-t', tag, '-p', 'daemon.info', 'tcp lf 3164']);
    const rows = await waitRows(
      server,
      `SELECT * FROM logs.syslog WHERE "resource.service.name" = '${tag}' ORDER BY body`,
      4,
    );
    assert.deepEqual(
      rows.map((r) => r.body),
      ['tcp lf 3164', 'tcp octet 5424', 'udp 3164', 'udp 5424 grüße'],
    );
    const [tcp3164, tcp5424, udp3164, udp5424] = rows as Record<string, any>[];
    // RFC 5424 over TCP with octet counting: every header field and the structured data
    assert.equal(tcp5424!.severity_number, 13);
    assert.equal(tcp5424!.severity_text, 'warning');
    assert.equal(tcp5424!['attr.syslog.facility'], 'local0');
    assert.equal(tcp5424!['attr.syslog.facility_code'], 16);
    assert.equal(tcp5424!['attr.syslog.version'], 1);
    assert.equal(tcp5424!['attr.syslog.msgid'], 'ID47');
    assert.equal(tcp5424!['attr.syslog.procid'], null);
    assert.equal(tcp5424!['attr.syslog.sd.exampleSDID@32473.iut'], '3');
    assert.equal(tcp5424!['attr.syslog.sd.exampleSDID@32473.eventSource'], 'App "x" ]');
    assert.equal(tcp5424!['attr.syslog.sd.timeQuality.tzKnown'], '1');
    assert.equal(tcp5424!['attr.net.peer.ip'], '127.0.0.1');
    assertHost(tcp5424!['resource.host.name']);
    assertRecent(tcp5424!._timestamp, '_timestamp');
    assertRecent(tcp5424!.observed_timestamp, 'observed_timestamp');
    // logger's 5424 timestamp has microseconds; ours keeps them
    assert.notEqual(BigInt(tcp5424!._timestamp) % 1_000_000_000n, 0n);
    // RFC 5424 over UDP, with a pid and UTF-8
    assert.equal(udp5424!.severity_number, 17);
    assert.equal(udp5424!.severity_text, 'err');
    assert.equal(udp5424!['attr.syslog.facility'], 'auth');
    assert.match(String(udp5424!['attr.syslog.procid']), /^\d+$/);
    assert.equal(udp5424!['attr.syslog.version'], 1);
    // RFC 3164: second precision, no version, host and tag parsed
    for (const [row, sev, text, facility] of [
      [udp3164, 5, 'debug', 'local7'],
      [tcp3164, 9, 'info', 'daemon'],
    ] as const) {
      assert.equal(row!.severity_number, sev);
      assert.equal(row!.severity_text, text);
      assert.equal(row!['attr.syslog.facility'], facility);
      assert.equal(row!['attr.syslog.version'], null);
      assert.equal(row!['attr.net.peer.ip'], '127.0.0.1');
      assertHost(row!['resource.host.name']);
      assertRecent(row!._timestamp, '3164 _timestamp');
      assert.equal(BigInt(row!._timestamp) % 1_000_000_000n, 0n);
    }
  });

  test('rsyslog forwards RFC 5424 (octet-counted TCP, UDP) and RFC 3164 (LF-framed TCP)', async (t) => {
    if (!hasCommand(t, 'rsyslogd', 'rsyslog') || !hasCommand(t, 'logger', 'bsdutils')) return;
    const inPort = await freeUdpPort();
    // the exact configuration of docs/ingest.md "Syslog", with this test's ports
    const conf = [
      `global(workDirectory="${dir}")`,
      'module(load="imudp")',
      `input(type="imudp" address="127.0.0.1" port="${inPort}")`,
      `action(type="omfwd" target="127.0.0.1" port="${ports.tcp}" protocol="tcp"`,
      '       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")',
      `action(type="omfwd" target="127.0.0.1" port="${ports.udp}" protocol="udp" template="RSYSLOG_SyslogProtocol23Format")`,
      `action(type="omfwd" target="127.0.0.1" port="${ports.tcp}" protocol="tcp" template="RSYSLOG_TraditionalForwardFormat")`,
      '',
    ].join('\n');
    const confPath = join(dir, 'rsyslog-test.conf');
    writeFileSync(confPath, conf);
    execFileSync('rsyslogd', ['-N1', '-f', confPath], { stdio: 'pipe' });
    const rsyslog: ChildProcess = spawn('rsyslogd', ['-n', '-f', confPath, '-i', join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    rsyslog.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
    rsyslog.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    const exited = new Promise<void>((r) => rsyslog.once('exit', () => r()));
    try {
      await waitFor(() => {
        try {
          return readFileSync(join(dir, 'rsyslogd.pid'), 'utf8').trim() !== '';
        } catch {
          return false;
        }
      });
      const tag = `${RUN}-rs`;
      const toRsyslog = (args: string[]) =>
        execFileSync('logger', ['-n', '127.0.0.1', '-P', String(inPort), '-d', ...args]);
      toRsyslog(['--rfc3164', '-t', tag, '-p', 'local0.warning', 'disk almost full']);
      toRsyslog(['--rfc5424', ...SD_ARGS, '-t', tag, 'structured hello']);
      // each message: once octet-counted 5424 over TCP, once 5424 over UDP, once 3164 over TCP.
      // The 3164 copy of the 5424 input has a TAG without the colon RFC 3164 puts after it
      // (`host <tag> structured hello`): a word without a colon stays in MSG (docs/ingest.md).
      const rows = (await waitRows(
        server,
        `SELECT * FROM logs.syslog WHERE "resource.service.name" = '${tag}' OR body = '${tag} structured hello'
         ORDER BY body, "attr.syslog.version" NULLS FIRST`,
        6,
      )) as Record<string, any>[];
      assert.deepEqual(
        rows.map((r) => [r.body, r['resource.service.name'], r['attr.syslog.version']]),
        [
          ['disk almost full', tag, null],
          ['disk almost full', tag, 1],
          ['disk almost full', tag, 1],
          [`${tag} structured hello`, null, null],
          ['structured hello', tag, 1],
          ['structured hello', tag, 1],
        ],
        `rsyslog output:\n${output.join('')}`,
      );
      for (const r of rows) {
        assert.equal(r['attr.net.peer.ip'], '127.0.0.1');
        assertHost(r['resource.host.name']);
        assertRecent(r._timestamp, 'rsyslog _timestamp');
        const isWarning = r.body === 'disk almost full';
        assert.equal(r.severity_text, isWarning ? 'warning' : 'notice');
        assert.equal(r.severity_number, isWarning ? 13 : 10);
        assert.equal(r['attr.syslog.facility'], isWarning ? 'local0' : 'user');
        if (r.body === 'structured hello') {
          assert.equal(r['attr.syslog.msgid'], 'ID47');
          assert.equal(r['attr.syslog.sd.exampleSDID@32473.iut'], '3');
          assert.equal(r['attr.syslog.sd.timeQuality.tzKnown'], '1');
        }
      }
    } finally {
      rsyslog.kill('SIGTERM');
      await exited;
    }
  });

  test('TLS (RFC 5425) with the configured certificate, into the mapped org and stream', async (t) => {
    if (!ports.tls) {
      t.skip('openssl is missing, so no certificate and no TLS listener');
      return;
    }
    const created = await server.fetch('/api/_admin/orgs', {
      method: 'POST',
      body: JSON.stringify({ name: 'secure-org' }),
    });
    assert.equal(created.status, 201);
    const ca = readFileSync(join(dir, 'cert.pem'));
    const socket = tlsConnect({ host: '127.0.0.1', port: ports.tls, ca, servername: undefined });
    await new Promise<void>((ok, fail) => socket.once('secureConnect', ok).once('error', fail));
    assert.equal(socket.authorized, true, String(socket.authorizationError));
    const frames = [
      '<14>1 2026-11-22T10:00:00.5+01:00 tlshost tlsapp 77 M1 [meta@1 k="v"] over tls',
      '<15>1 2026-11-22T10:00:01Z tlshost tlsapp 77 M2 - second over tls\n',
    ].map(octetFrame);
    socket.end(Buffer.concat(frames));
    await new Promise<void>((ok) => socket.once('close', () => ok()));
    const rows = await waitRows(server, 'SELECT * FROM logs.secure ORDER BY _timestamp', 2, {
      org: 'secure-org',
    });
    assert.deepEqual(
      rows.map((r) => [
        r._timestamp,
        r.body,
        r.severity_text,
        r['attr.syslog.msgid'],
        r['resource.host.name'],
      ]),
      [
        [
          String(BigInt(Date.UTC(2026, 10, 22, 9)) * 1_000_000n + 500_000_000n),
          'over tls',
          'info',
          'M1',
          'tlshost',
        ],
        [
          String(BigInt(Date.UTC(2026, 10, 22, 10, 0, 1)) * 1_000_000n),
          'second over tls',
          'debug',
          'M2',
          'tlshost',
        ],
      ],
    );
    assert.equal(rows[0]!['attr.syslog.sd.meta@1.k'], 'v');
    assert.equal(rows[0]!['resource.service.name'], 'tlsapp');
    assert.equal(rows[0]!['attr.syslog.procid'], '77');
    // nothing of it went to the default org
    const leaked = await server.search(`SELECT count(*) AS c FROM logs.syslog WHERE body LIKE '%over tls'`);
    assert.equal(Number(leaked.hits[0]!.c), 0);
  });

  test('a TCP client that sends a partial frame then disconnects loses nothing already framed', async () => {
    const host = `${RUN}-partial`;
    const framed = [1, 2, 3].map((i) => octetFrame(`<13>1 - ${host} app - - - framed ${i}`));
    const partial = octetFrame(`<13>1 - ${host} app - - - never complete`).subarray(0, 20);
    // over two writes, the last frame cut short, then a reset (no FIN) and a clean close variant
    await sendTcp(
      ports.tcp!,
      [Buffer.concat(framed.slice(0, 2)), Buffer.concat([framed[2]!, partial])],
      'reset',
    );
    await sendTcp(ports.tcp!, [octetFrame(`<13>1 - ${host} app - - - after`), partial], 'end');
    const rows = await waitRows(
      server,
      `SELECT body FROM logs.syslog WHERE "resource.host.name" = '${host}' ORDER BY body`,
      4,
    );
    assert.deepEqual(
      rows.map((r) => r.body),
      ['after', 'framed 1', 'framed 2', 'framed 3'],
    );
  });
});

function spawnSyncOk(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
