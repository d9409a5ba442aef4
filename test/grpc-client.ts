/**
 * A raw unary gRPC call with @grpc/grpc-js (the library the OpenTelemetry exporters use), for
 * requests no real client sends: hand-built Jaeger PostSpans messages and malformed input.
 */
import * as grpc from '@grpc/grpc-js';

export type GrpcAnswer =
  { ok: true; body: Buffer } | { ok: false; code: grpc.status; details: string; statusDetails?: Buffer };

function failure(err: grpc.ServiceError): GrpcAnswer {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  return {
    ok: false,
    code: err.code,
    details: err.details,
    ...(Buffer.isBuffer(bin) ? { statusDetails: bin } : {}),
  };
}

export async function grpcUnary(
  address: string,
  path: string,
  body: Buffer,
  metadata: Record<string, string>,
  opts: { gzip?: boolean } = {},
): Promise<GrpcAnswer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    ...(opts.gzip ? { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip } : {}),
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  try {
    return await new Promise<GrpcAnswer>((resolve) => {
      client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        md,
        { deadline: Date.now() + 20_000 },
        (err: grpc.ServiceError | null, out?: Buffer) =>
          resolve(err ? failure(err) : { ok: true, body: out! }),
      );
    });
  } finally {
    client.close();
  }
}
