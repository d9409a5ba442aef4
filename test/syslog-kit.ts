/**
 * Helpers of the syslog integration tests: Debian tools (skip locally, fail under CI=true), the
 * listener ports the server logged, a self-signed certificate, raw TCP/UDP senders, and waiting for
 * rows to arrive (syslog has no acknowledgement).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ServerProcess } from './harness.ts';

/** True when `cmd` runs; else skips the test (or throws under CI=true: .ci/run installs it). */
export function hasCommand(t: { skip: (m: string) => void }, cmd: string, pkg: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`]);
  if (r.status === 0) return true;
  const msg = `${cmd} is not installed (Debian package ${pkg}; .ci/run installs it)`;
  if (process.env.CI === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}

/**
 * The ports of the syslog listeners `want`, from the server's "syslog listening" log lines (pino
 * writes asynchronously, so they may follow the "listening on http" line the harness waits for).
 */
export async function syslogPorts(server: ServerProcess, want: string[]): Promise<Record<string, number>> {
  const until = Date.now() + 10_000;
  for (;;) {
    const ports: Record<string, number> = {};
    for (const line of server.log.split('\n')) {
      if (!line.includes('"syslog listening"')) continue;
      const l = JSON.parse(line) as { transport: string; port: number };
      ports[l.transport] = l.port;
    }
    if (want.every((t) => ports[t])) return ports;
    if (Date.now() > until) throw new Error(`syslog ports ${want.join(', ')} not logged:\n${server.log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A self-signed certificate for 127.0.0.1 made with Debian's openssl; returns the file paths. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export const octetFrame = (msg: string | Buffer) => {
  const b = typeof msg === 'string' ? Buffer.from(msg) : msg;
  return Buffer.concat([Buffer.from(`${b.length} `), b]);
};

/** Opens a TCP connection, writes the chunks, then ends it (FIN) or resets it. */
export async function sendTcp(port: number, chunks: Buffer[], how: 'end' | 'reset' = 'end'): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
  for (const c of chunks) await new Promise<void>((ok) => socket.write(c, () => ok()));
  if (how === 'reset') socket.resetAndDestroy();
  else socket.end();
  await new Promise<void>((ok) => socket.once('close', () => ok()));
}

export async function sendUdp(port: number, datagrams: Buffer[]): Promise<void> {
  const socket = createSocket('udp4');
  for (const d of datagrams)
    await new Promise<void>((ok, fail) => socket.send(d, port, '127.0.0.1', (e) => (e ? fail(e) : ok())));
  socket.close();
}

/** Polls `sql` until it returns `n` rows (bounded); returns them. */
export async function waitRows(
  server: ServerProcess,
  sql: string,
  n: number,
  opts: { org?: string; timeoutMs?: number } = {},
): Promise<Record<string, unknown>[]> {
  const until = Date.now() + (opts.timeoutMs ?? 15_000);
  let hits: Record<string, unknown>[] = [];
  for (;;) {
    try {
      hits = (await server.search(sql, { ...(opts.org ? { org: opts.org } : {}) })).hits;
    } catch (e) {
      if (!/not found|does not exist|unknown stream/i.test(String(e))) throw e;
    }
    if (hits.length >= n || Date.now() > until) return hits;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of one series in the server's /metrics text (0 when absent). */
export async function metricValue(server: ServerProcess, series: string): Promise<number> {
  const text = await (await server.fetch('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
