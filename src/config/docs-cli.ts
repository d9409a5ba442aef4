/** `npm run docs:config`: writes docs/configuration.md from the config schema. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { renderConfigDocs } from './docs.ts';

const CONFIG_DOCS_PATH = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));

mkdirSync(dirname(CONFIG_DOCS_PATH), { recursive: true });
writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs());
process.stdout.write('wrote docs/configuration.md\n');
