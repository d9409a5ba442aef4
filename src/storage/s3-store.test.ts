/**
 * The S3 store against a real S3 server (Ceph RGW from test/kits/rgw.ts): put (single and
 * multipart), list, delete, reads through the disk cache, suffix ranges (Parquet footers), key
 * prefixes, and the errors for a missing object, a wrong bucket and wrong credentials.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { rgwUnavailable, startRgw, type Rgw } from '../../test/kits/rgw.ts';
import { DiskCache } from './disk-cache.ts';
import { withReadLease } from './object-store.ts';
import { S3ObjectStore, type S3StoreOptions } from './s3-store.ts';

const MiB = 1024 * 1024;

type Fault = 'reset' | { cutAfter: number } | 'pass';
/**
 * A TCP proxy in front of the gateway that applies `faults` to its connections in order (then
 * passes everything): `reset` closes a connection at once, `cutAfter` relays that many bytes of
 * the answer and then closes it (a download cut mid-body).
 */
async function faultyProxy(target: string, faults: Fault[]) {
  const { hostname, port } = new URL(target);
  let n = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    const fault = faults[n++] ?? 'pass';
    if (fault === 'reset') return client.resetAndDestroy();
    const upstream = connect(Number(port), hostname);
    client.pipe(upstream);
    let relayed = 0;
    upstream.on('data', (chunk: Buffer) => {
      if (typeof fault === 'object' && relayed + chunk.length > fault.cutAfter) {
        client.write(chunk.subarray(0, Math.max(0, fault.cutAfter - relayed)));
        client.destroy();
        upstream.destroy();
        return;
      }
      relayed += chunk.length;
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of open) s.destroy(); // the client's idle keep-alive connections
      }),
  };
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('S3 object store (Ceph RGW)', { concurrency: false }, () => {
  let rgw: Rgw | null = null;
  let dir = '';
  let opts: S3StoreOptions;
  const stores: S3ObjectStore[] = [];
  const open = async (over: Partial<S3StoreOptions> = {}, cacheBytes = 256 * MiB, cacheDir?: string) => {
    const cache = await DiskCache.open(cacheDir ?? (await mkdtemp(join(dir, 'cache-'))), cacheBytes);
    const s = new S3ObjectStore({ ...opts, ...over }, cache);
    stores.push(s);
    return s;
  };
  /** a staged file of `bytes` random bytes; returns its content */
  const staged = async (s: S3ObjectStore, name: string, bytes: number): Promise<[string, Buffer]> => {
    const d = s.stagingDir('org1');
    await mkdir(d, { recursive: true });
    const body = randomBytes(bytes);
    await writeFile(join(d, name), body);
    return [join(d, name), body];
  };

  const unavailable = rgwUnavailable();
  before(async () => {
    if (unavailable) return;
    rgw = await startRgw();
    dir = await mkdtemp(join(tmpdir(), 's3-store-test-'));
    opts = {
      endpoint: rgw.endpoint,
      region: rgw.region,
      bucket: rgw.bucket,
      prefix: 'unit/',
      forcePathStyle: true,
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
    };
  });
  after(async () => {
    for (const s of stores) s.close();
    await rgw?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('put, list, read through the cache, delete; keys live under the prefix', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const s = await open();
    await s.check();
    const [file, body] = await staged(s, 'a.tmp', 1000);
    await s.putFile('org1/logs/x/a.parquet', file);
    assert.equal(existsSync(file), false, 'the staged file moved into the cache');
    assert.equal(s.cache.has('org1/logs/x/a.parquet'), true, 'write-through');
    const head = await s.client.send(
      new HeadObjectCommand({ Bucket: rgw.bucket, Key: 'unit/org1/logs/x/a.parquet' }),
    );
    assert.equal(head.ContentLength, 1000);
    assert.deepEqual(await s.list('org1'), ['org1/logs/x/a.parquet']);
    assert.deepEqual(await s.list('org2'), []);

    // another node (empty cache) reads it from S3
    const cold = await open();
    const p = await cold.readablePath('org1/logs/x/a.parquet');
    assert.equal(sha(await readFile(p)), sha(body));
    assert.equal(cold.cache.misses, 1);
    assert.equal(sha(await cold.get('org1/logs/x/a.parquet')), sha(body));
    assert.equal(cold.cache.hits, 1);

    await s.delete('org1/logs/x/a.parquet');
    assert.deepEqual(await s.list('org1'), []);
    assert.equal(s.cache.has('org1/logs/x/a.parquet'), false);
  });

  test('a file above the multipart threshold goes up in parts and reads back byte for byte', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const s = await open({ multipartBytes: 5 * MiB });
    const [file, body] = await staged(s, 'big.tmp', 17 * MiB + 123);
    await s.putFile('org1/logs/x/big.parquet', file);
    const head = await s.client.send(
      new HeadObjectCommand({ Bucket: rgw.bucket, Key: 'unit/org1/logs/x/big.parquet' }),
    );
    assert.equal(head.ContentLength, 17 * MiB + 123);
    assert.match(head.ETag ?? '', /-4"?$/, 'a multipart ETag names its 4 parts');
    const cold = await open();
    assert.equal(sha(await readFile(await cold.readablePath('org1/logs/x/big.parquet'))), sha(body));
  });

  test('the default threshold (16 MiB): a 17 MiB file is multipart, a 15 MiB one is not', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const s = await open();
    for (const [name, size, multipart] of [
      ['m17', 17 * MiB, true],
      ['m15', 15 * MiB, false],
    ] as const) {
      const [file] = await staged(s, `${name}.tmp`, size);
      await s.putFile(`org1/logs/y/${name}.parquet`, file);
      const head: HeadObjectCommandOutput = await s.client.send(
        new HeadObjectCommand({ Bucket: rgw.bucket, Key: `unit/org1/logs/y/${name}.parquet` }),
      );
      assert.equal(/-\d+"?$/.test(head.ETag ?? ''), multipart, `${name}: ETag ${head.ETag}`);
    }
  });

  test('suffix ranges read a Parquet footer exactly', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const s = await open();
    const d = s.stagingDir('org1');
    await mkdir(d, { recursive: true });
    const file = join(d, 'f.parquet.tmp');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT range AS n, 'row ' || range AS s FROM range(5000)) TO '${file}' (FORMAT parquet)`,
    );
    conn.closeSync();
    db.closeSync();
    const local = await readFile(file);
    await s.putFile('org1/logs/z/f.parquet', file);
    const tail = await s.getRange('org1/logs/z/f.parquet', { suffix: 8 });
    assert.deepEqual(Buffer.from(tail), local.subarray(local.length - 8));
    assert.equal(Buffer.from(tail.subarray(4)).toString(), 'PAR1');
    const footerLen = Buffer.from(tail).readUInt32LE(0);
    const footer = await s.getRange('org1/logs/z/f.parquet', { suffix: footerLen + 8 });
    assert.deepEqual(Buffer.from(footer), local.subarray(local.length - footerLen - 8));
    const head = await s.getRange('org1/logs/z/f.parquet', { start: 0, end: 3 });
    assert.equal(Buffer.from(head).toString(), 'PAR1');
  });

  test('a missing object: an error that names bucket and key; nothing half-written in the cache', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const s = await open();
    await assert.rejects(s.readablePath('org1/logs/x/nope.parquet'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'MS_ERR_OBJECT_MISSING');
      assert.match(e.message, /unit\/org1\/logs\/x\/nope\.parquet/);
      assert.match(e.message, new RegExp(`bucket "${rgw!.bucket}"`));
      return true;
    });
    assert.equal(s.cache.has('org1/logs/x/nope.parquet'), false);
    assert.equal(existsSync(s.localPath('org1/logs/x/nope.parquet')), false);
  });

  test('a wrong bucket and wrong credentials fail the start-up check with what to fix', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    await assert.rejects(
      (await open({ bucket: 'no-such-bucket' })).check(),
      /no-such-bucket.*does not exist.*storage\.s3\.bucket/,
    );
    await assert.rejects(
      (await open({ secretAccessKey: 'wrong-secret' })).check(),
      /credentials were refused.*storage\.s3\.secretAccessKey/,
    );
    await assert.rejects(
      (await open({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })).check(),
      /did not answer.*storage\.s3\.endpoint/,
    );
  });

  test('concurrent reads of one cold object download it once; a lease pins it', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const writer = await open();
    const [file, body] = await staged(writer, 'c.tmp', 2 * MiB);
    await writer.putFile('org1/logs/x/c.parquet', file);
    // a cache smaller than the object: kept while pinned, dropped when the lease ends
    const cold = await open({}, MiB);
    await withReadLease(async () => {
      const paths = await Promise.all(
        Array.from({ length: 5 }, () => cold.readablePath('org1/logs/x/c.parquet')),
      );
      assert.equal(new Set(paths).size, 1);
      assert.equal(cold.cache.misses, 5);
      assert.equal(cold.cache.downloadsStarted, 1);
      assert.equal(cold.cache.pinsOf('org1/logs/x/c.parquet'), 5);
      assert.equal(sha(await readFile(paths[0]!)), sha(body));
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(cold.cache.has('org1/logs/x/c.parquet'), false, 'evicted once released');
    assert.ok(cold.cache.bytes <= MiB);
  });

  test('virtual-host addressing (forcePathStyle: false): the bucket is in the host name', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const looked: string[] = [];
    // <bucket>.localhost does not resolve here: the agent sends it to 127.0.0.1
    const httpAgent = new Agent({
      lookup: ((hostname: string, o: unknown, cb: (e: null, a: string | object[], f?: number) => void) => {
        looked.push(hostname);
        if ((o as { all?: boolean }).all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
        else cb(null, '127.0.0.1', 4);
      }) as never,
    });
    const port = new URL(rgw.endpoint).port;
    const s = await open({
      endpoint: `http://localhost:${port}`,
      forcePathStyle: false,
      prefix: 'vhost/',
      httpAgent,
    });
    await s.check();
    const [file, body] = await staged(s, 'v.tmp', 4096);
    await s.putFile('org1/logs/v/v.parquet', file);
    assert.deepEqual(await s.list('org1'), ['org1/logs/v/v.parquet']);
    const cold = await open({
      endpoint: `http://localhost:${port}`,
      forcePathStyle: false,
      prefix: 'vhost/',
      httpAgent,
    });
    assert.equal(sha(await readFile(await cold.readablePath('org1/logs/v/v.parquet'))), sha(body));
    assert.ok(looked.length > 0 && looked.every((h) => h === `${rgw!.bucket}.localhost`), looked.join(', '));
  });

  test('transient failures are retried: refused connections, a download cut mid-body', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const writer = await open();
    const [file, body] = await staged(writer, 'r.tmp', 3 * MiB);
    await writer.putFile('org1/logs/x/r.parquet', file);
    // two connections reset, then one whose answer stops after 64 KiB, then all well
    const proxy = await faultyProxy(rgw.endpoint, ['reset', 'reset', { cutAfter: 64 * 1024 }]);
    try {
      const flaky = await open({ endpoint: proxy.endpoint });
      const p = await flaky.readablePath('org1/logs/x/r.parquet');
      assert.equal(sha(await readFile(p)), sha(body), 'the retried download is whole');
      assert.ok(proxy.connections() >= 4, `${proxy.connections()} connections`);
      // the same faults with retries off: an error that says what failed
      const again = await faultyProxy(rgw.endpoint, ['reset']);
      const once = await open({ endpoint: again.endpoint, maxAttempts: 1 });
      await assert.rejects(once.check(), /S3 open failed for bucket .*: the S3 endpoint did not answer/);
      await again.close();
    } finally {
      await proxy.close();
    }
  });

  test('an object written by another client under the prefix is listed without the prefix', async (t) => {
    if (!rgw) return t.skip(unavailable ?? 'no RGW');
    const s = await open({ prefix: 'other/' });
    await s.client.send(new PutObjectCommand({ Bucket: rgw.bucket, Key: 'other/org9/k', Body: 'x' }));
    assert.deepEqual(await s.list('org9'), ['org9/k']);
  });
});
