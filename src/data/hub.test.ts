// ensureHubFiles against a local imitation of the Hub's resolve endpoint (two servers on 127.0.0.1:
// the "Hub" answering HEAD with X-Repo-Commit/ETag headers and redirecting LFS files to a "CDN"
// on another port, which serves bytes with Range support and can cut a download short).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, readlinkSync, existsSync, lstatSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ensureHubFiles, HubUnreachableError, type HubProgress } from './hub';

const COMMIT = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
const small = Buffer.from('{"hello": "world"}\n');
const big = randomBytes(300_000);
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface FakeHub {
  url: string;
  log: string[];
  /** Cut the next `breaks` CDN responses after this many bytes. */
  breakAfter?: number;
  breaks?: number;
  ignoreRange?: boolean;
  corrupt?: boolean;
  close(): Promise<void>;
}

function listen(s: Server): Promise<string> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

async function startHub(prefix = ''): Promise<FakeHub> {
  const files: Record<string, { body: Buffer; lfs: boolean }> = {
    'config.json': { body: small, lfs: false },
    'data/train.parquet': { body: big, lfs: true },
  };
  const log: string[] = [];
  const cdn = createServer((req: IncomingMessage, res: ServerResponse) => {
    log.push(`CDN ${req.method} ${req.url} ${req.headers.range ?? ''}`.trim());
    const body = Buffer.from(files[decodeURIComponent(req.url!.slice(5))]!.body);
    if (hub.corrupt) body[10] ^= 0xff;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (m && !hub.ignoreRange) {
      start = Number(m[1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const part = body.subarray(start);
    if (hub.breakAfter !== undefined && (hub.breaks ?? 0) > 0) {
      const n = hub.breakAfter;
      hub.breaks!--;
      // A graceful FIN after the bytes (a reset could drop data the client has not read yet).
      res.write(part.subarray(0, n), () => res.socket?.end());
      return;
    }
    res.end(part);
  });
  const cdnUrl = await listen(cdn);
  const server = createServer((req, res) => {
    log.push(`HUB ${req.method} ${req.url}`);
    const m = new RegExp(`^/${prefix}org/name/resolve/([^/]+)/(.+)$`).exec(req.url!);
    if (!m) { res.writeHead(404, { 'x-error-code': 'RepositoryNotFound' }).end(); return; }
    const f = files[decodeURIComponent(m[2]!)];
    if (!f) { res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end(); return; }
    if (f.lfs) {
      res.writeHead(302, {
        location: `${cdnUrl}/cdn/${encodeURIComponent(m[2]!)}`, 'x-repo-commit': COMMIT,
        'x-linked-etag': `"${sha256(f.body)}"`, 'x-linked-size': f.body.length, etag: '"ignored"',
      }).end();
    } else {
      res.writeHead(200, { 'x-repo-commit': COMMIT, etag: `"${gitSha1(f.body)}"`, 'content-length': f.body.length });
      res.end(req.method === 'HEAD' ? undefined : f.body);
    }
  });
  const url = await listen(server);
  // Bounded: the servers stop themselves even if a test forgets to.
  const timer = setTimeout(() => { server.close(); cdn.close(); }, 60_000).unref();
  const hub: FakeHub = {
    url, log,
    close: async () => {
      clearTimeout(timer);
      server.closeAllConnections(); cdn.closeAllConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
  return hub;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'bert-lab-hub-'));

test('downloads into the Hugging Face cache layout, then reuses it without network', async () => {
  const hub = await startHub();
  const cache = tmp();
  try {
    const progress: HubProgress[] = [];
    const snap = await ensureHubFiles('org/name', ['config.json', 'data/train.parquet'], {
      repoType: 'model', cacheDir: cache, hubUrl: hub.url, onProgress: (p) => progress.push(p),
    });
    const repo = join(cache, 'models--org--name');
    assert.equal(snap, join(repo, 'snapshots', COMMIT));
    assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), COMMIT);
    assert.deepEqual(readFileSync(join(snap, 'config.json')), small);
    assert.deepEqual(readFileSync(join(snap, 'data', 'train.parquet')), big);
    // Relative symlinks into blobs/<etag>, as huggingface_hub makes them.
    assert.ok(lstatSync(join(snap, 'config.json')).isSymbolicLink());
    assert.equal(readlinkSync(join(snap, 'config.json')), join('..', '..', 'blobs', gitSha1(small)));
    assert.equal(readlinkSync(join(snap, 'data', 'train.parquet')), join('..', '..', '..', 'blobs', sha256(big)));
    const last = progress.filter((p) => p.file === 'data/train.parquet').at(-1)!;
    assert.deepEqual(last, { file: 'data/train.parquet', loaded: big.length, total: big.length });

    await hub.close();
    const n = hub.log.length;
    const again = await ensureHubFiles('org/name', ['config.json', 'data/train.parquet'], { repoType: 'model', cacheDir: cache, hubUrl: hub.url });
    assert.equal(again, snap);
    assert.equal(hub.log.length, n, 'no request for cached files');
    // By commit hash too, and with offline mode forced.
    assert.equal(await ensureHubFiles('org/name', ['config.json'], { repoType: 'model', cacheDir: cache, revision: COMMIT, offline: true }), snap);
  } finally {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a dropped connection is resumed at once; a download that keeps failing resumes on the next call', async () => {
  const hub = await startHub('datasets/');
  const cache = tmp();
  try {
    const opts = { repoType: 'dataset' as const, cacheDir: cache, hubUrl: hub.url };
    hub.breakAfter = 100_000;
    hub.breaks = 1;
    const first = await ensureHubFiles('org/name', ['data/train.parquet'], opts);
    assert.deepEqual(readFileSync(join(first, 'data', 'train.parquet')), big);
    const gets = hub.log.filter((l) => l.startsWith('CDN GET'));
    assert.equal(gets.length, 2, gets.join('\n'));
    assert.match(gets[1]!, /bytes=\d+-$/);
    rmSync(join(cache, 'datasets--org--name'), { recursive: true });

    hub.breaks = 3;
    await assert.rejects(ensureHubFiles('org/name', ['data/train.parquet'], opts), /interrupted|incomplete/);
    const blob = join(cache, 'datasets--org--name', 'blobs', sha256(big));
    const partial = statSync(`${blob}.incomplete`).size;
    assert.ok(partial > 0 && partial < big.length, `partial file of ${partial} bytes`);
    const snap = await ensureHubFiles('org/name', ['data/train.parquet'], opts);
    assert.ok(hub.log.includes(`CDN GET /cdn/data%2Ftrain.parquet bytes=${partial}-`), hub.log.join('\n'));
    assert.deepEqual(readFileSync(join(snap, 'data', 'train.parquet')), big);
    assert.ok(!existsSync(`${blob}.incomplete`));
  } finally {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a server that ignores Range gives a clean restart; a corrupt body is rejected and removed', async () => {
  const hub = await startHub();
  const cache = tmp();
  try {
    const opts = { repoType: 'model' as const, cacheDir: cache, hubUrl: hub.url };
    const blob = join(cache, 'models--org--name', 'blobs', sha256(big));
    mkdirSync(join(cache, 'models--org--name', 'blobs'), { recursive: true });
    writeFileSync(`${blob}.incomplete`, Buffer.from('garbage that is not the start of the file'));
    hub.ignoreRange = true;
    const snap = await ensureHubFiles('org/name', ['data/train.parquet'], opts);
    assert.deepEqual(readFileSync(join(snap, 'data', 'train.parquet')), big);

    rmSync(join(cache, 'models--org--name'), { recursive: true });
    hub.ignoreRange = false;
    hub.corrupt = true;
    await assert.rejects(ensureHubFiles('org/name', ['data/train.parquet'], opts), /corrupt \(hash/);
    assert.ok(!existsSync(`${blob}.incomplete`) && !existsSync(blob));
  } finally {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  }
});

test('optional files may be missing; missing required files, repos and the Hub are clear errors', async () => {
  const hub = await startHub();
  const cache = tmp();
  try {
    const opts = { repoType: 'model' as const, cacheDir: cache, hubUrl: hub.url };
    const snap = await ensureHubFiles('org/name', ['config.json', 'tokenizer_config.json'], { ...opts, optional: ['tokenizer_config.json'] });
    assert.ok(existsSync(join(snap, 'config.json')));
    await assert.rejects(ensureHubFiles('org/name', ['vocab.txt'], opts), /file "vocab.txt" does not exist/);
    await assert.rejects(ensureHubFiles('other/repo', ['config.json'], opts), /repository "other\/repo" not found/);
    await assert.rejects(ensureHubFiles('org/name', ['../x'], opts), /invalid file path/);
  } finally {
    await hub.close();
  }
  // The servers are gone now: an uncached file is a HubUnreachableError naming the endpoint.
  await assert.rejects(
    ensureHubFiles('org/name', ['vocab.txt'], { repoType: 'model', cacheDir: cache, hubUrl: hub.url }),
    (e: Error) => e instanceof HubUnreachableError && e.message.includes(`cannot reach the Hugging Face Hub at ${hub.url}`),
  );
  await assert.rejects(
    ensureHubFiles('org/name', ['vocab.txt'], { repoType: 'model', cacheDir: cache, offline: true }),
    /offline mode/,
  );
  rmSync(cache, { recursive: true, force: true });
});

test('two concurrent downloads of the same file wait for each other (one lock, one write)', async () => {
  const hub = await startHub();
  const cache = tmp();
  try {
    const opts = { repoType: 'model' as const, cacheDir: cache, hubUrl: hub.url };
    const [a, b] = await Promise.all([
      ensureHubFiles('org/name', ['data/train.parquet'], opts),
      ensureHubFiles('org/name', ['data/train.parquet'], opts),
    ]);
    assert.equal(a, b);
    assert.deepEqual(readFileSync(join(a, 'data', 'train.parquet')), big);
    assert.equal(hub.log.filter((l) => l.startsWith('CDN GET')).length, 1, hub.log.join('\n'));
    assert.ok(!existsSync(join(cache, '.locks', 'models--org--name', `${sha256(big)}.bert-lab.lock`)));
  } finally {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  }
});
