/**
 * A throwaway S3 server for tests: single-node Ceph (one monitor, one RAM-backed memstore OSD, no
 * mgr, auth off) plus the RADOS Gateway, all on 127.0.0.1 in a temp dir with free ports
 * (../shared/notes/ecosystem.md §8). `startRgw()` creates the S3 user and a bucket; `stop()` kills
 * exactly the daemons it started (by their pid files) and waits for them to exit.
 *
 * Missing Ceph binaries: the test is skipped with a message, or fails under CI=true (`.ci/run`
 * installs `ceph-mon ceph-osd radosgw ceph-common`).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const run = promisify(execFile);

export interface Rgw {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** where the daemons keep their config, pid files and logs (`log/`) */
  dir: string;
  /** a client of this gateway (path-style, checksums only when required) */
  client(): S3Client;
  /** creates another bucket */
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph', 'ceph-authtool', 'monmaptool', 'radosgw-admin'];

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, cmd)));
}

/** The Ceph commands not on PATH (empty: RGW can start). */
export function missingRgwBinaries(): string[] {
  return BINARIES.filter((b) => !onPath(b));
}

/**
 * For tests that need RGW: null when it can start, else why not (the tests skip with it); under
 * CI=true a missing Ceph is an error.
 */
export function rgwUnavailable(): string | null {
  const missing = missingRgwBinaries();
  if (missing.length === 0) return null;
  const msg =
    `Ceph RADOS Gateway is not installed (missing ${missing.join(', ')}): ` +
    'apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common';
  if (process.env.CI === 'true') throw new Error(msg);
  return msg;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** running (a zombie waiting for a reaper counts as gone) */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

function pidsIn(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const n of names.filter((x) => x.endsWith('.pid'))) {
    const pid = Number(readFileSync(join(dir, n), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

/** SIGKILLs the daemons of `dir` now (synchronous: usable in an `exit` handler); answers their pids. */
function killDaemons(dir: string): number[] {
  const pids = pidsIn(join(dir, 'run'));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return pids;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`RGW kit: ${what} not ready within ${timeoutMs} ms`);
}

/**
 * Starts a fresh cluster; a failed bring-up is torn down and retried with new ports, up to three
 * times.
 */
export async function startRgw(opts: { bucket?: string } = {}): Promise<Rgw> {
  const missing = missingRgwBinaries();
  if (missing.length > 0) throw new Error(`RGW kit: missing Ceph binaries ${missing.join(', ')}`);
  const errors: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      errors.push(`attempt ${attempt}: ${(e as Error).message}`);
      process.stderr.write(`RGW kit: start attempt ${attempt} failed: ${(e as Error).message.slice(0, 300)}\n`);
    }
  }
  throw new Error(`RGW kit: could not start Ceph RGW:\n${errors.join('\n')}`);
}

async function startOnce(opts: { bucket?: string }): Promise<Rgw> {
  const dir = await mkdtemp(join(tmpdir(), 'molesignal-rgw-'));
  for (const d of ['run', 'log', 'mon', 'osd', 'rgw']) await mkdir(join(dir, d));
  const monPort = await freePort();
  const rgwPort = await freePort();
  const fsid = randomUUID();
  const conf = join(dir, 'ceph.conf');
  await writeFile(
    conf,
    `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
keyring = ${dir}/keyring
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 1073741824
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw dns name = localhost
rgw data = ${dir}/rgw
`,
  );
  const c = ['-c', conf];
  const step = async (cmd: string, args: string[], timeoutMs = 60_000): Promise<string> => {
    try {
      return (await run(cmd, args, { timeout: timeoutMs })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(
        `RGW kit: ${cmd} ${args.join(' ')} failed (logs in ${dir}/log): ${err.stderr || err.message}`,
        {
          cause: e,
        },
      );
    }
  };
  // the daemons detach: whatever way this process ends, they must not outlive it
  const onExit = () => {
    killDaemons(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    // memstore keeps nothing worth a clean shutdown, and the OSD takes ~20 s to honour SIGTERM
    const pids = killDaemons(dir);
    while (pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
    await rm(dir, { recursive: true, force: true });
    process.removeListener('exit', onExit);
  };
  const accessKeyId = 'MSACCESS' + randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase();
  const secretAccessKey = randomUUID().replace(/-/g, '');
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const region = 'us-east-1';
  const client = () =>
    new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const createBucket = async (name: string) => {
    const s3 = client();
    try {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      s3.destroy();
    }
  };
  try {
    await step('ceph-authtool', [
      '--create-keyring',
      join(dir, 'keyring'),
      '--gen-key',
      '-n',
      'mon.',
      '--cap',
      'mon',
      'allow *',
    ]);
    const monmap = join(dir, 'monmap');
    await step('monmaptool', ['--create', '--addv', 'a', `v1:127.0.0.1:${monPort}`, '--fsid', fsid, monmap]);
    await step('ceph-mon', [
      ...c,
      '--mkfs',
      '-i',
      'a',
      '--monmap',
      monmap,
      '--keyring',
      join(dir, 'keyring'),
    ]);
    await step('ceph-mon', [...c, '-i', 'a']); // daemonizes
    const osdUuid = randomUUID();
    const id = (await step('ceph', [...c, 'osd', 'new', osdUuid])).trim();
    // placed in the CRUSH map here rather than by the OSD at boot: its boot-time update raced
    // the monitor map now and then ("wrong fsid") and failed the start
    await step('ceph', [
      ...c,
      'osd',
      'crush',
      'create-or-move',
      `osd.${id}`,
      '1.0',
      'root=default',
      'host=localhost',
    ]);
    await mkdir(join(dir, 'osd', `ceph-${id}`), { recursive: true });
    await step('ceph-osd', [...c, '-i', id, '--mkfs', '--osd-uuid', osdUuid]);
    await step('ceph-osd', [...c, '-i', id]); // daemonizes
    await step('radosgw-admin', [
      ...c,
      'user',
      'create',
      '--uid=test',
      '--display-name=test',
      `--access-key=${accessKeyId}`,
      `--secret-key=${secretAccessKey}`,
    ]);
    await step('radosgw', [...c, '-n', 'client.rgw.a']); // daemonizes
    await waitFor(
      `the gateway on ${endpoint}`,
      async () => {
        try {
          return (await fetch(endpoint)).ok;
        } catch {
          return false;
        }
      },
      60_000,
    );
    const bucket = opts.bucket ?? 'molesignal-test';
    await createBucket(bucket);
    return { endpoint, bucket, accessKeyId, secretAccessKey, region, dir, client, createBucket, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** `MOLESIGNAL_*` for the S3 backend on an S3 server (e.g. test/kits/rgw.ts). */
export function s3Env(
  s3: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; region: string },
  dataDir: string,
  prefix: string,
  cacheMaxBytes?: number,
): Record<string, string> {
  return {
    MOLESIGNAL_STORAGE_BACKEND: 's3',
    MOLESIGNAL_STORAGE_S3_ENDPOINT: s3.endpoint,
    MOLESIGNAL_STORAGE_S3_REGION: s3.region,
    MOLESIGNAL_STORAGE_S3_BUCKET: s3.bucket,
    MOLESIGNAL_STORAGE_S3_PREFIX: prefix,
    MOLESIGNAL_STORAGE_S3_FORCE_PATH_STYLE: 'true',
    MOLESIGNAL_STORAGE_S3_ACCESS_KEY_ID: s3.accessKeyId,
    MOLESIGNAL_STORAGE_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    MOLESIGNAL_STORAGE_CACHE_DIR: join(dataDir, 'cache'),
    ...(cacheMaxBytes ? { MOLESIGNAL_STORAGE_CACHE_MAX_BYTES: String(cacheMaxBytes) } : {}),
  };
}
