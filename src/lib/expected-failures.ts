/**
 * One expected-failures format for every conformance runner (PromQL, LogQL, TraceQL, …), so a
 * runner can be green while known gaps are listed, and a gap that starts passing is noticed.
 * Format (docs/format/expected-failures.md): UTF-8 text, one case id per line, optionally
 * followed by `#` and the reason; blank lines and lines starting with `#` are ignored.
 *
 *     # promql conformance: known gaps
 *     functions.test:412   # holt_winters on native histograms
 *     at_modifier.test:88
 */
import { readFileSync } from 'node:fs';

export interface ExpectedFailure {
  id: string;
  reason: string;
  line: number;
}

export function parseExpectedFailures(text: string): Map<string, ExpectedFailure> {
  const out = new Map<string, ExpectedFailure>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const hash = line.indexOf('#');
    const id = (hash >= 0 ? line.slice(0, hash) : line).trim();
    const reason = hash >= 0 ? line.slice(hash + 1).trim() : '';
    if (/\s/.test(id))
      throw new Error(`expected-failures line ${i + 1}: a case id has no spaces, got "${id}"`);
    if (out.has(id)) throw new Error(`expected-failures line ${i + 1}: "${id}" is listed twice`);
    out.set(id, { id, reason, line: i + 1 });
  });
  return out;
}

export function loadExpectedFailures(path: string): Map<string, ExpectedFailure> {
  return parseExpectedFailures(readFileSync(path, 'utf8'));
}

export interface ConformanceTally {
  passed: number;
  failed: number;
  /** failed and listed: tolerated */
  expectedFailures: string[];
  /** failed and not listed: the run fails */
  unexpectedFailures: string[];
  /** listed but passed: the list must be updated (the run fails, so lists stay honest) */
  unexpectedPasses: string[];
}

/** Tallies case results against the expected-failures list. */
export function tally(
  results: Iterable<{ id: string; ok: boolean }>,
  expected: Map<string, ExpectedFailure>,
): ConformanceTally {
  const t: ConformanceTally = {
    passed: 0,
    failed: 0,
    expectedFailures: [],
    unexpectedFailures: [],
    unexpectedPasses: [],
  };
  for (const r of results) {
    if (r.ok) {
      t.passed++;
      if (expected.has(r.id)) t.unexpectedPasses.push(r.id);
    } else {
      t.failed++;
      (expected.has(r.id) ? t.expectedFailures : t.unexpectedFailures).push(r.id);
    }
  }
  return t;
}

/** The closing line every conformance runner prints: `N passed, M failed`. */
export const summaryLine = (t: ConformanceTally): string => `${t.passed} passed, ${t.failed} failed`;

export const isGreen = (t: ConformanceTally): boolean =>
  t.unexpectedFailures.length === 0 && t.unexpectedPasses.length === 0;
