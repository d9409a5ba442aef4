import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDocs } from './docs.ts';
import { KEY_SPECS, envNameOf } from './schema.ts';

const DOCS_URL = new URL('../../docs/configuration.md', import.meta.url);
const STALE =
  'docs/configuration.md is out of date with src/config/schema.ts: run `npm run docs:config` and commit the result';

test('docs/configuration.md is the output of renderConfigDocs()', () => {
  let committed: string;
  try {
    committed = readFileSync(DOCS_URL, 'utf8');
  } catch {
    assert.fail(`docs/configuration.md is missing: run \`npm run docs:config\``);
  }
  // assert.ok, not assert.equal: a diff of the whole file would bury the one line that matters
  assert.ok(committed === renderConfigDocs(), STALE);
});

test('every user key appears with its environment variable; test-only keys only in their own section', () => {
  const md = renderConfigDocs();
  const testSection = md.indexOf('## Test-only settings');
  assert.ok(testSection > 0);
  for (const spec of KEY_SPECS) {
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const row = md.search(new RegExp(`\\| \`${escape(spec.key)}\` +\\| \`${escape(envNameOf(spec))}\` +\\|`));
    assert.ok(row >= 0, `${spec.key} has a row`);
    assert.equal(row > testSection, spec.testOnly === true, `${spec.key} is in the right section`);
  }
});

test('defaults are shown with human units where the key names one', () => {
  const md = renderConfigDocs();
  for (const text of [
    '`8388608` (8 MiB)',
    '`600000` (10 min)',
    '`1073741824` (1 GiB)',
    '`30000` (30 s)',
    '`""` (empty)',
  ]) {
    assert.ok(md.includes(text), text);
  }
});

test('Prettier leaves the generated Markdown as it is (so `npm run format` cannot make it stale)', async () => {
  const prettier = await import('prettier');
  const path = fileURLToPath(DOCS_URL);
  const options = (await prettier.resolveConfig(path)) ?? {};
  const md = renderConfigDocs();
  assert.equal(await prettier.format(md, { ...options, filepath: path }), md);
});
