#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so `npm ci && npm start` needs no build step.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// Ingest allocates many short-lived objects per request; a larger young generation makes
// scavenges rarer (measured with `npm run bench -- otlp-logs`). Set before the heap grows.
setFlagsFromString('--max-semi-space-size=32');
register();
await import('../src/cli/main.ts');
