/**
 * CI gate of the LogQL conformance set (../shared/conformance/logql, answers recorded from Grafana
 * Loki 3.4.6): every query runs over the Loki HTTP API of a real server process, and any failure
 * not listed in src/logql/conformance/expected-failures.txt fails the test (conformance-gate.ts).
 */
import { test } from 'node:test';
import { runConformance } from '../src/logql/conformance/runner.ts';
import { conformanceGate } from './conformance-gate.ts';

test('LogQL conformance: no failure outside the expected-failures list', { timeout: 600_000 }, (t) =>
  conformanceGate(t, {
    name: 'LogQL',
    set: 'conformance/logql',
    expectedFailures: new URL('../src/logql/conformance/expected-failures.txt', import.meta.url),
    run: (dir) => runConformance(dir),
  }),
);
