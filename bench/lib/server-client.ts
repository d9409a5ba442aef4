/** What the benchmarks ask of a server process: its CPU time and peak RSS (/proc), its data dir's size, and HTTP posts. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'node:http';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** VmHWM of a process, in bytes. */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** POSTs one snappy-compressed remote_write 1.0 request to `${baseUrl}/api/v1/write`. */
export function postRemoteWrite(
  agent: Agent,
  baseUrl: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<{ status: number; text: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/api/v1/write',
        method: 'POST',
        timeout: 120_000,
        headers: {
          ...headers,
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-prometheus-remote-write-version': '0.1.0',
          'content-length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('remote_write request timed out (120 s)')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Total size of the files under `dir` (recursively), skipping top-level names `skip` accepts. */
export function dirBytes(dir: string, skip?: (name: string) => boolean): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    if (skip?.(name)) continue;
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

/** POSTs `body` to `path`; resolves on a 2xx answer, rejects with the status and the answer's start. */
export function postRequest(
  agent: Agent,
  url: URL,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: { ...headers, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode !== undefined && res.statusCode < 300
            ? resolve()
            : reject(new Error(`${path}: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 200)}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Parquet files, token-filter sidecars and the catalog, in bytes. */
export function diskUse(dataDir: string): {
  parquet: number;
  sidecars: number;
  files: number;
  catalog: number;
  rest: number;
} {
  let parquet = 0;
  let sidecars = 0;
  let files = 0;
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (n.endsWith('.parquet')) {
        parquet += st.size;
        files++;
      } else if (n.endsWith('.bloom')) sidecars += st.size;
    }
  };
  walk(join(dataDir, 'objects'));
  let catalog = 0;
  for (const f of readdirSync(dataDir))
    if (f.startsWith('catalog.sqlite')) catalog += statSync(join(dataDir, f)).size;
  const rest = dirBytes(dataDir, (n) => n === 'objects' || n.startsWith('catalog.sqlite'));
  return { parquet, sidecars, files, catalog, rest };
}

/**
 * Sends each lane's bodies in order (the lanes concurrently, over keep-alive connections), then
 * polls `count` until it reaches `expected` (within 300 s). Times from the first request; `cpu` is
 * the server process's CPU-s over both phases.
 */
export async function sendUntilQueryable(o: {
  url: string;
  pid: number;
  path: string;
  headers: Record<string, string>;
  lanes: Uint8Array[][];
  count: () => Promise<number>;
  expected: number;
  /** what is counted, for the progress line and the error ("lines") */
  what: string;
}): Promise<{ sentMs: number; queryableMs: number; cpu: number; visible: number }> {
  const url = new URL(o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: o.lanes.length });
  const total = o.lanes.reduce((n, l) => n + l.length, 0);
  let sent = 0;
  const progress = setInterval(() => process.stderr.write(`\r  sent ${sent} / ${total} requests`), 1000);
  const cpu0 = cpuSeconds(o.pid);
  const started = performance.now();
  try {
    await Promise.all(
      o.lanes.map(async (lane) => {
        for (const body of lane) {
          await postRequest(agent, url, o.path, o.headers, body);
          sent++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
    agent.destroy();
  }
  const sentMs = performance.now() - started;
  const deadline = Date.now() + 300_000;
  let visible: number;
  for (;;) {
    visible = await o.count();
    if (visible >= o.expected) break;
    if (Date.now() > deadline) throw new Error(`only ${visible} of ${o.expected} ${o.what} queryable after 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const queryableMs = performance.now() - started;
  const cpu = cpuSeconds(o.pid) - cpu0;
  process.stderr.write(`\r  queryable after ${(queryableMs / 1000).toFixed(1)} s (${visible} ${o.what})\n`);
  return { sentMs, queryableMs, cpu, visible };
}

/** Extra node flags for a benched MoleSignal server from `MOLESIGNAL_BENCH_NODE_ARGS` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`). */
export function benchNodeArgs(): { nodeArgs?: string[] } {
  const args = process.env.MOLESIGNAL_BENCH_NODE_ARGS?.split(' ').filter(Boolean);
  return args?.length ? { nodeArgs: args } : {};
}
