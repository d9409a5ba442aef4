/**
 * The gRPC listener (DESIGN.md decision 12: OTLP/gRPC on 4317), built on @grpc/grpc-js with
 * hand-registered unary methods whose request "deserializer" keeps the raw bytes: each method
 * decodes them with the same decoder as its HTTP twin, so a gRPC request and an HTTP request with
 * the same body become the same WAL record and the same rows.
 *
 * Per call: metadata `authorization` (Basic, Bearer API key — the HTTP credential check), the org
 * from `x-scope-orgid` or the credential (the HTTP org resolution), the `ingest` scope, `stream-name`
 * and `idempotency-key`. Message size: `grpc.max_receive_message_length` = ingest.maxBodyBytes,
 * which grpc-js applies to the message as sent and again after gzip/deflate decompression
 * (`grpc-encoding`). Errors become gRPC status codes through the table of http-errors.ts.
 */
import * as grpc from '@grpc/grpc-js';
import type { Authenticator } from '../auth/principal.ts';
import type { OrgRow } from '../catalog/catalog.ts';
import { MoleError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ServerMetrics } from '../lib/metrics.ts';
import type { OrgResolver } from '../tenancy/org-resolver.ts';
import { checkStreamName } from '../write/streams.ts';
import { grpcCode, statusProto, toMoleError } from './http-errors.ts';
import { checkIdempotencyKey } from '../ingest/ingest-request.ts';

/** One authenticated unary call, as an ingest method sees it. */
export interface GrpcIngestCall {
  org: OrgRow;
  /** `stream-name` metadata, validated; `default` when absent */
  stream: string;
  idempotencyKey: string;
  /** the request message, decompressed */
  body: Buffer;
  receivedAtMs: number;
  nowNs: bigint;
}

/** A unary method: its full path (`/package.Service/Method`) and what it answers (the encoded response). */
export interface GrpcIngestMethod {
  path: string;
  handle(call: GrpcIngestCall): Promise<Buffer>;
}

export interface GrpcServerDeps {
  methods: readonly GrpcIngestMethod[];
  auth: Authenticator;
  orgs: OrgResolver;
  log: Logger;
  maxMessageBytes: number;
  /** while draining, new calls get UNAVAILABLE */
  isDraining: () => boolean;
  /** counts calls by method path (a fixed list) and status code name */
  metrics?: Pick<ServerMetrics, 'grpcRequests'>;
}

export interface RunningGrpcServer {
  port: number;
  /** Stops accepting calls, lets running ones finish until `deadlineMs` (epoch), then cuts the rest. */
  shutdown(deadlineMs: number): Promise<void>;
}

const identity = (b: Buffer): Buffer => b;

function metadataOf(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

async function callOf(deps: GrpcServerDeps, md: grpc.Metadata, body: Buffer): Promise<GrpcIngestCall> {
  if (deps.isDraining()) {
    throw new MoleError('server is shutting down; retry on another instance or after restart', {
      code: 'MS_ERR_DRAINING',
      status: 503,
      reason: 'unavailable',
      retryable: true,
    });
  }
  const principal = await deps.auth.authenticate(metadataOf(md, 'authorization'));
  const org = await deps.orgs.implicit(principal, metadataOf(md, 'x-scope-orgid'));
  deps.orgs.requireScope(principal, org, 'ingest');
  const stream = checkStreamName(metadataOf(md, 'stream-name') ?? 'default');
  const idempotencyKey = checkIdempotencyKey(metadataOf(md, 'idempotency-key') ?? '');
  const receivedAtMs = Date.now();
  return { org, stream, idempotencyKey, body, receivedAtMs, nowNs: BigInt(receivedAtMs) * 1_000_000n };
}

function unaryHandler(deps: GrpcServerDeps, method: GrpcIngestMethod): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    const started = performance.now();
    void (async () => {
      let code: grpc.status = grpc.status.OK;
      try {
        const out = await method.handle(await callOf(deps, call.metadata, call.request));
        callback(null, out);
      } catch (e) {
        const err = toMoleError(e);
        if (err.status >= 500 && err.status !== 503)
          deps.log.error({ err: e, route: method.path }, 'gRPC call failed');
        code = grpcCode(err.status);
        const metadata = new grpc.Metadata();
        // RetryInfo: OTLP exporters retry RESOURCE_EXHAUSTED only when the server says when
        if (err.retryable) metadata.set('grpc-status-details-bin', statusProto(err));
        callback({ code, details: err.message, metadata });
      } finally {
        deps.metrics?.grpcRequests.inc({ method: method.path, code: grpc.status[code] ?? String(code) });
        deps.log.debug(
          { method: 'GRPC', route: method.path, status: code, ms: Math.round(performance.now() - started) },
          'request',
        );
      }
    })();
  };
}

export async function startGrpcServer(
  deps: GrpcServerDeps,
  host: string,
  port: number,
): Promise<RunningGrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxMessageBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  for (const method of deps.methods) {
    const name = method.path.slice(method.path.lastIndexOf('/') + 1);
    const definition: grpc.ServiceDefinition = {
      [name]: {
        path: method.path,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    };
    server.addService(definition, { [name]: unaryHandler(deps, method) });
  }
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((ok, fail) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : ok(p))),
  );
  return {
    port: bound,
    shutdown: (deadlineMs) =>
      new Promise<void>((ok) => {
        const timer = setTimeout(
          () => {
            server.forceShutdown();
            ok();
          },
          Math.max(0, deadlineMs - Date.now()),
        );
        server.tryShutdown(() => {
          clearTimeout(timer);
          ok();
        });
      }),
  };
}
