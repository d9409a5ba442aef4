#!/usr/bin/env node
// The package registry reachable here does not serve DuckDB's binaries for other platforms
// (darwin, win32, linux-arm64), so `npm install` leaves them out of package-lock.json, and
// `npm ci` then refuses the lock as "out of sync". This adds them back as optional,
// platform-bound entries, which npm ci skips on linux-x64. Run it after every `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [name, pkg] of Object.entries(lock.packages)) {
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (lock.packages[key]) continue;
    const m = /-(darwin|win32|linux)-(arm64|x64)(-musl)?$/.exec(dep);
    if (!m) continue;
    lock.packages[key] = {
      version: pkg.optionalDependencies[dep],
      cpu: [m[2]],
      ...(m[1] === 'linux' ? { libc: [m[3] ? 'musl' : 'glibc'] } : {}),
      license: pkg.license ?? 'MIT',
      optional: true,
      os: [m[1]],
    };
    added++;
    console.log(`added ${key} (optional dependency of ${name || 'the root'})`);
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`${added} entries added`);
