/**
 * The Jaeger agent's UDP ports (DESIGN.md decision 12: off unless configured): one datagram = one
 * `Agent.emitBatch` Thrift message, compact protocol (the agent's 6831) or binary (6832). UDP
 * carries no credentials, so every span lands in org `default`, stream `default`; nothing is
 * answered (a oneway call). A datagram that does not decode is dropped and logged.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isMoleError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import type { WritePath } from '../../write/write-path.ts';
import { decodeJaeger } from './handler.ts';

export interface JaegerUdpListener {
  port: number;
  close(): Promise<void>;
}

export async function startJaegerUdp(
  deps: { writePath: WritePath; log: Logger; org: OrgId },
  compact: boolean,
  host: string,
  port: number,
): Promise<JaegerUdpListener> {
  const socket: Socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const protocol = compact ? 'compact' : 'binary';
  socket.on('message', (msg) => {
    const receivedAtMs = Date.now();
    const payload: IngestPayload = {
      org: deps.org,
      signal: 'traces',
      stream: 'default',
      format: compact ? 'jaeger-thrift-compact' : 'jaeger-thrift-binary',
      ...(compact ? {} : { params: { envelope: 'agent' } }),
      idempotencyKey: '',
      receivedAtMs,
      nowNs: BigInt(receivedAtMs) * 1_000_000n,
      body: msg,
    };
    void (async () => {
      try {
        await deps.writePath.write(payload, decodeJaeger(payload));
      } catch (e) {
        // refused by backpressure: counted in molesignal_discarded_total{reason="backpressure"},
        // not logged per datagram (a spike would flood the log)
        if (isMoleError(e) && e.reason === 'backpressure') return;
        if (isMoleError(e) && e.status < 500)
          deps.log.warn({ protocol, bytes: msg.length, error: e.message }, 'Jaeger UDP datagram dropped');
        else deps.log.error({ err: e, protocol }, 'Jaeger UDP datagram failed');
      }
    })();
  });
  await new Promise<void>((ok, fail) => {
    socket.once('error', fail);
    socket.bind(port, host, () => {
      socket.off('error', fail);
      ok();
    });
  });
  socket.on('error', (err) => deps.log.error({ err, protocol }, 'Jaeger UDP socket error'));
  return {
    port: socket.address().port,
    close: () => new Promise<void>((ok) => socket.close(() => ok())),
  };
}
