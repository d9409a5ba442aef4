/**
 * The syslog listeners: UDP (one message per datagram), TCP and TLS (RFC 6587 framing, RFC 5425
 * for TLS). Each is off unless its port is set, and feeds its own batcher (batcher.ts), which
 * writes to the listener's org and stream.
 *
 * Stop (graceful shutdown): stop accepting, close every connection (what was framed is kept, a
 * partial frame is counted as `truncated`), then write what the batchers hold before the WAL
 * closes.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import {
  createServer as createTcpServer,
  isIPv6,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { MoleError } from '../../lib/errors.ts';
import type { MetricsRegistry } from '../../lib/metrics.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { WritePath } from '../../write/write-path.ts';
import { SyslogBatcher } from './batcher.ts';
import { SyslogFramer } from './framing.ts';
import { createSyslogMetrics, type SyslogMetrics } from './metrics.ts';

export type SyslogTransport = 'udp' | 'tcp' | 'tls';

/** `syslog.*` of the configuration (src/config/schema.ts) */
export type SyslogConfig = Config['syslog'];

export interface SyslogDeps {
  config: SyslogConfig;
  /** used when `syslog.host` is empty */
  defaultHost: string;
  writePath: Pick<WritePath, 'write'>;
  resolveOrg: (name: string) => Promise<OrgId | null>;
  registry: MetricsRegistry;
  log: Logger;
}

export interface SyslogListeners {
  /** bound ports of the listeners that run */
  ports: Partial<Record<SyslogTransport, number>>;
  stop(deadlineMs: number): Promise<void>;
}

const MAX_BATCH_MESSAGES = 4096;
const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** `::ffff:127.0.0.1` → `127.0.0.1` (a dual-stack socket reports IPv4 peers mapped). */
const peerOf = (address: string | undefined) =>
  address === undefined
    ? ''
    : address.startsWith('::ffff:') && !isIPv6(address.slice(7))
      ? address.slice(7)
      : address;

/** Reads `syslog.tlsCert` / `syslog.tlsKey`; a missing or unreadable file stops the start. */
function readTlsFile(path: string, key: string): Buffer {
  if (path === '') {
    throw new MoleError(`syslog.tlsPort is set but ${key} is empty: give the PEM file`, {
      code: 'MS_ERR_CONFIG',
      status: 400,
      reason: 'config_invalid',
    });
  }
  try {
    return readFileSync(path);
  } catch (e) {
    throw new MoleError(`cannot read ${key} ${path}: ${(e as Error).message}`, {
      code: 'MS_ERR_CONFIG',
      status: 400,
      reason: 'config_invalid',
      cause: e,
    });
  }
}

export async function startSyslogListeners(deps: SyslogDeps): Promise<SyslogListeners> {
  const { config, log } = deps;
  const host = config.host === '' ? deps.defaultHost : config.host;
  const metrics = createSyslogMetrics(deps.registry);
  const batchers: SyslogBatcher[] = [];
  const closers: (() => Promise<void>)[] = [];
  const ports: Partial<Record<SyslogTransport, number>> = {};
  const stopAll = async (deadlineMs: number) => {
    await Promise.all(closers.map((c) => c()));
    await Promise.all(batchers.map((b) => b.drain(deadlineMs)));
  };
  const listeners = [
    [config.udpPort, 'udp', config.udpOrg, config.udpStream],
    [config.tcpPort, 'tcp', config.tcpOrg, config.tcpStream],
    [config.tlsPort, 'tls', config.tlsOrg, config.tlsStream],
  ] as const;
  try {
    for (const [wanted, transport, org, stream] of listeners) {
      if (wanted === null) continue;
      const batcher = new SyslogBatcher({
        transport,
        orgName: org,
        stream,
        resolveOrg: deps.resolveOrg,
        writePath: deps.writePath,
        metrics,
        log,
        maxBatchMessages: MAX_BATCH_MESSAGES,
        maxBatchBytes: MAX_BATCH_BYTES,
        maxPendingBytes: MAX_PENDING_BYTES,
        batchWindowMs: config.batchWindowMs,
      });
      batchers.push(batcher);
      const { port, close } =
        transport === 'udp'
          ? await listenUdp(host, wanted, batcher, config.maxMessageBytes, metrics)
          : await listenStream(
              streamServer(transport, config, log),
              transport,
              host,
              wanted,
              batcher,
              config,
              metrics,
              log,
            );
      ports[transport] = port;
      closers.push(close);
      log.info({ transport, host, port, org, stream }, 'syslog listening');
    }
  } catch (e) {
    await stopAll(Date.now());
    throw e;
  }
  return { ports, stop: stopAll };
}

function streamServer(transport: 'tcp' | 'tls', config: SyslogConfig, log: Logger): Server {
  if (transport === 'tcp') return createTcpServer();
  const cert = readTlsFile(config.tlsCert, 'syslog.tlsCert');
  const key = readTlsFile(config.tlsKey, 'syslog.tlsKey');
  const server = createTlsServer({ cert, key, minVersion: 'TLSv1.2' });
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'syslog TLS handshake failed'));
  return server;
}

async function listenUdp(
  host: string,
  port: number,
  batcher: SyslogBatcher,
  maxMessageBytes: number,
  metrics: SyslogMetrics,
): Promise<{ port: number; close: () => Promise<void> }> {
  const socket: UdpSocket = createSocket({
    type: isIPv6(host) ? 'udp6' : 'udp4',
    recvBufferSize: 4 * 1024 * 1024,
  });
  socket.on('message', (msg, rinfo) => {
    if (msg.length > maxMessageBytes) {
      metrics.dropped.inc({ transport: 'udp', reason: 'oversize' });
      return;
    }
    if (batcher.isOverloaded) {
      metrics.dropped.inc({ transport: 'udp', reason: 'backpressure' });
      return;
    }
    let end = msg.length;
    while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d || msg[end - 1] === 0)) end--;
    if (end === 0) return;
    batcher.add(msg.subarray(0, end), Date.now(), peerOf(rinfo.address));
  });
  await new Promise<void>((ok, fail) => {
    socket.once('error', fail);
    socket.bind(port, host, () => {
      socket.off('error', fail);
      ok();
    });
  });
  // errors after bind (e.g. ICMP unreachable on some systems) must not crash the server
  socket.on('error', () => {});
  const bound = socket.address().port;
  return { port: bound, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

async function listenStream(
  server: Server,
  transport: 'tcp' | 'tls',
  host: string,
  port: number,
  batcher: SyslogBatcher,
  config: SyslogConfig,
  metrics: SyslogMetrics,
  log: Logger,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const event = transport === 'tls' ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => {
    sockets.add(socket);
    const peer = peerOf(socket.remoteAddress);
    socket.setKeepAlive(true, 60_000);
    const framer = new SyslogFramer(config.maxMessageBytes, {
      message: (msg) => batcher.add(msg, Date.now(), peer),
      drop: (reason) => metrics.dropped.inc({ transport, reason }),
    });
    const resume = () => socket.resume();
    let ended = false;
    socket.on('data', (chunk: Buffer) => {
      if (!framer.push(chunk)) {
        metrics.dropped.inc({ transport, reason: 'bad_frame' });
        log.warn({ transport, peer, reason: framer.badFrame }, 'syslog connection closed on a bad frame');
        socket.destroy();
        return;
      }
      if (batcher.isOverloaded) {
        socket.pause();
        batcher.waitForRoom(resume);
      }
    });
    socket.on('end', () => {
      ended = true;
      framer.end(true);
      socket.end();
    });
    socket.on('error', (err) => log.debug({ transport, peer, err: err.message }, 'syslog connection error'));
    socket.on('close', () => {
      if (!ended) framer.end(false);
      batcher.forget(resume);
      sockets.delete(socket);
    });
  });
  server.on('error', (err) => log.error({ err, transport }, 'syslog listener error'));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const close = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return { port: bound, close };
}
