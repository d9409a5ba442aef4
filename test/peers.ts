/**
 * Real peers from Debian packages (prometheus-node-exporter, prometheus, victoria-metrics) started
 * by a test on 127.0.0.1 free ports in temp dirs, and stopped by their own pid. A missing binary
 * skips the test with a message locally and fails it under CI=true (.ci/run installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** The binary's path, or a skip reason (throws under CI=true: a missing peer must fail there). */
export function debianBinary(
  name: string,
  pkg: string,
): { path: string; skip: false } | { path: ''; skip: string } {
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin'])
    if (existsSync(`${dir}/${name}`)) return { path: `${dir}/${name}`, skip: false };
  const msg = `${name} not installed (apt-get install ${pkg})`;
  if (process.env.CI === 'true') throw new Error(`${msg}: CI=true requires it (.ci/run installs it)`);
  return { path: '', skip: msg };
}

export class Peer {
  readonly output: string[] = [];
  private readonly exited: Promise<void>;
  constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.stdout?.on('data', (b: Buffer) => this.output.push(b.toString()));
    proc.stderr?.on('data', (b: Buffer) => this.output.push(b.toString()));
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts `bin args` (cwd `dir`) and waits until `readyPath` on `port` answers 2xx. */
export async function startPeer(
  bin: string,
  args: string[],
  dir: string,
  port: number,
  readyPath: string,
): Promise<Peer> {
  const peer = new Peer(
    spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }),
    `http://127.0.0.1:${port}`,
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (peer.proc.exitCode !== null) throw new Error(`${bin} exited:\n${peer.output.join('')}`);
    if (Date.now() > deadline) {
      await peer.stop();
      throw new Error(`${bin} not ready within 30 s:\n${peer.output.join('')}`);
    }
    const ok = await fetch(`${peer.url}${readyPath}`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return peer;
    await sleep(200);
  }
}
