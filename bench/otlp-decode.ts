/**
 * Micro-benchmark of the OTLP logs decoders: ~1000 realistic ~500-byte log records with 8
 * attributes each, serialized by the OpenTelemetry JS SDK, decoded repeatedly for about 3 s per
 * encoding on one core. Run: node --import tsx bench/otlp-decode.ts
 */
import { encodeLogs, realisticLogRecords } from '../src/ingest/otlp/otel-sdk-fixtures.ts';
import { decodeLogsJson } from '../src/ingest/otlp/parse-json.ts';
import { decodeLogsProto } from '../src/ingest/otlp/parse-proto.ts';

const RECORDS = 1000;
const SECONDS = 3;

const encoded = await encodeLogs(realisticLogRecords(RECORDS));
const jsonBytes = Buffer.byteLength(encoded.json);

function measure(name: string, bytes: number, decode: () => { rowCount: number }): void {
  // Warm up so the JIT has optimized the decoder before timing.
  for (let i = 0; i < 50; i++) decode();
  let rows = 0;
  let runs = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(SECONDS * 1e9);
  let now = start;
  while (now < deadline) {
    rows += decode().rowCount;
    runs++;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  const perSecond = rows / seconds;
  const mbPerSecond = (bytes * runs) / seconds / 1e6;
  console.log(
    `${name.padEnd(6)} ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} records/s  ` +
      `${mbPerSecond.toFixed(1).padStart(6)} MB/s  (${bytes} bytes per request, ${Math.round(bytes / RECORDS)} bytes/record)`,
  );
}

const nowNs = 1_700_000_000_000_000_000n;
measure('proto', encoded.proto.length, () => decodeLogsProto(encoded.proto, nowNs));
measure('json', jsonBytes, () => decodeLogsJson(encoded.json, nowNs));
