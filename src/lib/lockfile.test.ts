/**
 * `npm ci` refuses a lock that lacks an entry for any optional dependency, and the registry here
 * does not serve DuckDB's other-platform binaries, so `npm install` drops them. This test catches
 * that before CI does: run `node scripts/lock-optional-platforms.mjs` after `npm install`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

test('package-lock.json lists every optional dependency (npm ci needs it)', () => {
  const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
    packages: Record<string, { optionalDependencies?: Record<string, string> }>;
  };
  const missing: string[] = [];
  for (const pkg of Object.values(lock.packages)) {
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      if (!lock.packages[`node_modules/${dep}`]) missing.push(dep);
    }
  }
  assert.deepEqual(missing, [], 'run: node scripts/lock-optional-platforms.mjs');
});
