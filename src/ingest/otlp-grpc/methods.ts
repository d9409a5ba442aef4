/**
 * OTLP/gRPC: the three collector services' `Export` methods
 * (https://opentelemetry.io/docs/specs/otlp/#otlpgrpc). The request message is the same protobuf
 * as an OTLP/HTTP protobuf body, so each method builds the same IngestPayload (formats
 * `otlp-proto` / `otlp-metrics-proto`) and calls the same ingest function as the HTTP handler;
 * the response is the same Export*ServiceResponse with `partial_success`.
 */
import type { GrpcIngestCall, GrpcIngestMethod } from '../../server/grpc-server.ts';
import type { SignalType } from '../../write/column-batch.ts';
import type { IngestPayload, WireFormat } from '../../write/wal-payload.ts';
import type { WritePath } from '../../write/write-path.ts';
import { ingestOtlpMetrics, type OtlpMetricsDeps } from '../otlp-metrics/handler.ts';
import { ingestOtlp, partialSuccessProto } from '../otlp/handler.ts';
import { SAMPLES_STREAM } from '../remote-write/to-batch.ts';

export const OTLP_GRPC_PATHS = {
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
} as const;

/** The IngestPayload of a gRPC call: what an HTTP handler builds from its request. */
export function grpcPayload(
  call: GrpcIngestCall,
  signal: SignalType,
  format: WireFormat,
  stream = call.stream,
): IngestPayload {
  return {
    org: call.org.id,
    signal,
    stream,
    format,
    idempotencyKey: call.idempotencyKey,
    receivedAtMs: call.receivedAtMs,
    nowNs: call.nowNs,
    body: call.body,
  };
}

export function otlpGrpcMethods(deps: OtlpMetricsDeps & { writePath: WritePath }): GrpcIngestMethod[] {
  const logsOrTraces = (signal: 'logs' | 'traces'): GrpcIngestMethod => ({
    path: OTLP_GRPC_PATHS[signal],
    handle: async (call) => {
      const r = await ingestOtlp(deps.writePath, grpcPayload(call, signal, 'otlp-proto'));
      return partialSuccessProto(r.rejected, r.rejectedMessage);
    },
  });
  return [
    logsOrTraces('logs'),
    logsOrTraces('traces'),
    {
      path: OTLP_GRPC_PATHS.metrics,
      handle: async (call) => {
        // metric samples always go to the org's one samples stream, as over HTTP
        const payload = grpcPayload(call, 'metrics', 'otlp-metrics-proto', SAMPLES_STREAM);
        const r = await ingestOtlpMetrics(deps, payload);
        return partialSuccessProto(r.rejected, r.message);
      },
    },
  ];
}
