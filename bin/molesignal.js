#!/usr/bin/env -S node --max-semi-space-size=64
// Runs the TypeScript CLI directly (tsx), so `npm ci && npm start` needs no build step.
//
// Ingest allocates many short-lived objects per request: a young generation of 64 MiB semi-spaces
// (Node's default is 16) halves the server's garbage-collection time (`npm run bench -- logs`: 2.3
// → 1.05 s of 2 M lines). V8 sizes the heap when the process starts, so the flag must be on the
// command line (this file's first line, `npm start`, or NODE_OPTIONS); setting it from here
// later has no effect.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
