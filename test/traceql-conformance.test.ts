/**
 * CI gate of the TraceQL conformance set (../shared/conformance/traceql, answers recorded from
 * Grafana Tempo 2.7.2): the data goes in by OTLP/HTTP, every request runs against /api/search of a
 * real server process, and any failure not listed in
 * src/traces/traceql/conformance/expected-failures.txt fails the test (conformance-gate.ts).
 */
import { test } from 'node:test';
import { runConformance } from '../src/traces/traceql/conformance/runner.ts';
import { conformanceGate } from './conformance-gate.ts';

test('TraceQL conformance: no failure outside the expected-failures list', { timeout: 600_000 }, (t) =>
  conformanceGate(t, {
    name: 'TraceQL',
    set: 'conformance/traceql',
    expectedFailures: new URL('../src/traces/traceql/conformance/expected-failures.txt', import.meta.url),
    run: (dir) => runConformance(dir),
  }),
);
