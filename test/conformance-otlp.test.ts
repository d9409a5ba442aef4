/**
 * Done-when 3: every OTLP example payload of ../shared/conformance/otlp (logs.json, trace.json,
 * events.json) is accepted, and each field round-trips through SQL. Expected rows are derived
 * from the payload itself, field by field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedOrSkip, startServer, type ServerProcess } from './harness.ts';

type AnyValue = Record<string, unknown>;
type KV = { key: string; value: AnyValue };

/** An attribute value as our SQL answer shows it: scalars typed, arrays/maps as JSON text. */
function plain(v: AnyValue): unknown {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return ((v.arrayValue as { values?: AnyValue[] }).values ?? []).map(plain);
  if ('kvlistValue' in v)
    return Object.fromEntries(
      ((v.kvlistValue as { values?: KV[] }).values ?? []).map((kv) => [kv.key, plain(kv.value)]),
    );
  if ('bytesValue' in v) return v.bytesValue;
  return null;
}
const sqlValue = (v: AnyValue): unknown =>
  'arrayValue' in v || 'kvlistValue' in v ? JSON.stringify(plain(v)) : plain(v);

function attrs(prefix: string, list: KV[] | undefined, out: Record<string, unknown>): void {
  for (const kv of list ?? []) out[prefix + kv.key] = sqlValue(kv.value);
}

const hex = (s: unknown) => (typeof s === 'string' && s !== '' ? s.toLowerCase() : null);

function expectedLogRows(payload: { resourceLogs: Record<string, any>[] }): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const rl of payload.resourceLogs) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        const row: Record<string, unknown> = {
          _timestamp: r.timeUnixNano ?? r.observedTimeUnixNano,
          observed_timestamp: r.observedTimeUnixNano ?? null,
          severity_number: r.severityNumber ?? 0,
          severity_text: r.severityText ?? null,
          body: r.body
            ? 'stringValue' in r.body
              ? r.body.stringValue
              : JSON.stringify(plain(r.body))
            : null,
          trace_id: hex(r.traceId),
          span_id: hex(r.spanId),
          event_name: r.eventName ?? null,
          'scope.name': sl.scope?.name ?? null,
          'scope.version': sl.scope?.version ?? null,
        };
        attrs('resource.', rl.resource?.attributes, row);
        attrs('scope.attr.', sl.scope?.attributes, row);
        attrs('attr.', r.attributes, row);
        rows.push(row);
      }
    }
  }
  return rows;
}

function expectedSpanRows(payload: { resourceSpans: Record<string, any>[] }): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const rs of payload.resourceSpans) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const row: Record<string, unknown> = {
          _timestamp: s.startTimeUnixNano,
          end_timestamp: s.endTimeUnixNano,
          duration_ns: Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)),
          trace_id: hex(s.traceId),
          span_id: hex(s.spanId),
          parent_span_id: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          status_code: s.status?.code ?? 0,
          'scope.name': ss.scope?.name ?? null,
          'scope.version': ss.scope?.version ?? null,
          events: (s.events ?? []).map((e: any) => e.name),
          links: (s.links ?? []).map((l: any) => hex(l.spanId)),
        };
        attrs('resource.', rs.resource?.attributes, row);
        attrs('scope.attr.', ss.scope?.attributes, row);
        attrs('attr.', s.attributes, row);
        rows.push(row);
      }
    }
  }
  return rows;
}

describe('OTLP example payloads round-trip through SQL', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  const cases = [
    { file: 'logs.json', signal: 'logs', stream: 'conf_logs' },
    { file: 'events.json', signal: 'logs', stream: 'conf_events' },
    { file: 'trace.json', signal: 'traces', stream: 'conf_trace' },
  ] as const;

  for (const c of cases) {
    test(c.file, async (t) => {
      const dir = sharedOrSkip(t, 'conformance/otlp');
      if (!dir) return;
      const text = readFileSync(join(dir, c.file), 'utf8');
      const res = await server.fetch(`/v1/${c.signal}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stream-name': c.stream },
        body: text,
      });
      assert.equal(res.status, 200, await res.text());
      const payload = JSON.parse(text);
      const expected = c.signal === 'logs' ? expectedLogRows(payload) : expectedSpanRows(payload);
      assert.ok(expected.length > 0);
      for (const phase of ['memtable', 'parquet']) {
        if (phase === 'parquet') {
          const f = await server.fetch(`/api/default/streams/${c.stream}/_flush`, { method: 'POST' });
          assert.equal(f.status, 200);
        }
        const r = await server.search(`SELECT * FROM ${c.signal}.${c.stream}`);
        assert.equal(r.stats.files_scanned, phase === 'parquet' ? 1 : 0);
        assert.equal(r.hits.length, expected.length);
        for (const [i, want] of expected.entries()) {
          const got = r.hits[i]!;
          for (const [field, value] of Object.entries(want)) {
            let actual = got[field];
            if (field === 'events') actual = (actual as { name: string }[]).map((e) => e.name);
            if (field === 'links') actual = (actual as { span_id: string }[]).map((l) => l.span_id);
            assert.deepEqual(actual, value, `${c.file} (${phase}) row ${i} field ${field}`);
          }
        }
      }
    });
  }
});
