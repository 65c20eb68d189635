import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ChecksumMismatchError } from './errors';
import { IdxFormatError } from './idx';
import {
  loadMnistFromUrl,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type Mnist,
  type MnistByteCache,
  type MnistDownloadProgress,
  type MnistFileKey,
} from './mnist';
import { type FileServer, type Route, startFileServer } from './test-utils/file-server';
import { gzipRealMnistFiles, readRealMnistFile, sameBytes } from './test-utils/mnist-files';

// The real files, gzip-compressed as a site would serve them (level 1: fast; any gzip must verify). They are
// Buffers, whose slice() is a view: copies are made with new Uint8Array(...).
const gz = gzipRealMnistFiles();
const gzName = (key: MnistFileKey) => `${MNIST_FILES[key].name}.gz`;
const gzTotal = MNIST_FILE_KEYS.reduce((sum, key) => sum + gz[key].length, 0);

/** A Map-backed cache that keeps copies and records every call, like a store outside the process would. */
class MapCache implements MnistByteCache {
  readonly entries = new Map<string, Uint8Array>();
  readonly calls: string[] = [];
  async get(url: string) {
    this.calls.push(`get ${url}`);
    const stored = this.entries.get(url);
    return stored && new Uint8Array(stored);
  }
  async put(url: string, bytes: Uint8Array) {
    this.calls.push(`put ${url}`);
    this.entries.set(url, new Uint8Array(bytes));
  }
  async delete(url: string) {
    this.calls.push(`delete ${url}`);
    this.entries.delete(url);
  }
}

const routes = (bodies: Record<MnistFileKey, Uint8Array> = gz): Record<string, Route> =>
  Object.fromEntries(MNIST_FILE_KEYS.map((key) => [gzName(key), { kind: 'bytes', bytes: bodies[key] }]));

/** Calls `load` with an onProgress that records every event. */
async function withProgress(
  load: (onProgress: (p: MnistDownloadProgress) => void) => Promise<Mnist>,
): Promise<{ mnist: Mnist; events: MnistDownloadProgress[] }> {
  const events: MnistDownloadProgress[] = [];
  const mnist = await load((p) => events.push(p));
  return { mnist, events };
}

/** receivedBytes never decreases; every file ends with one 'done'; the last event is exact. */
function expectCompleteProgress(events: MnistDownloadProgress[], total: number) {
  for (let i = 1; i < events.length; i++) {
    expect(events[i]!.receivedBytes).toBeGreaterThanOrEqual(events[i - 1]!.receivedBytes);
  }
  for (const event of events) expect(event.receivedBytes).toBeLessThanOrEqual(event.totalBytes);
  const done = events.filter((e) => e.phase === 'done').map((e) => e.file);
  expect(done.sort()).toEqual([...MNIST_FILE_KEYS].sort());
  expect(events.at(-1)).toMatchObject({ phase: 'done', receivedBytes: total, totalBytes: total });
}

function expectRealMnist(mnist: Mnist) {
  expect(mnist.train.count).toBe(60000);
  expect(mnist.test.count).toBe(10000);
  expect(sameBytes(mnist.train.images, readRealMnistFile('trainImages').subarray(16))).toBe(true);
  expect(sameBytes(mnist.test.images, readRealMnistFile('testImages').subarray(16))).toBe(true);
  expect(sameBytes(mnist.train.labels, readRealMnistFile('trainLabels').subarray(8))).toBe(true);
  expect(Array.from(mnist.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
}

describe('loadMnistFromUrl with a cache and progress (loopback HTTP server)', () => {
  let server: FileServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('a good run fills the cache; with the server gone, the next run loads from the cache', async () => {
    server = await startFileServer(routes());
    const base = server.baseUrl;
    const cache = new MapCache();
    const first = await withProgress((onProgress) => loadMnistFromUrl(base, { cache, onProgress }));
    expectRealMnist(first.mnist);
    expect([...cache.entries.keys()].sort()).toEqual(MNIST_FILE_KEYS.map((k) => base + gzName(k)).sort());
    for (const key of MNIST_FILE_KEYS)
      expect(sameBytes(cache.entries.get(base + gzName(key))!, gz[key])).toBe(true);
    expectCompleteProgress(first.events, gzTotal);
    for (const key of MNIST_FILE_KEYS) {
      const phases = first.events.filter((e) => e.file === key).map((e) => e.phase);
      expect(phases[0]).toBe('download');
      expect(phases.slice(-2)).toEqual(['verify', 'done']);
      expect(phases).not.toContain('cached');
    }
    // Before any body is complete, the files not yet started count at their official .gz size.
    const start = first.events[0]!;
    expect(start.totalBytes).toBe(
      gz[start.file].length +
        MNIST_FILE_KEYS.filter((k) => k !== start.file).reduce((sum, k) => sum + MNIST_FILES[k].gzBytes, 0),
    );

    await server.close();
    server = undefined;
    cache.calls.length = 0;
    const second = await withProgress((onProgress) => loadMnistFromUrl(base, { cache, onProgress }));
    expectRealMnist(second.mnist);
    expect(cache.calls.filter((c) => !c.startsWith('get'))).toEqual([]);
    expectCompleteProgress(second.events, gzTotal);
    for (const key of MNIST_FILE_KEYS) {
      expect(second.events.filter((e) => e.file === key).map((e) => e.phase)).toEqual([
        'cached',
        'verify',
        'done',
      ]);
    }
  });

  it('a download that fails its checksum is not cached, and the error names the URL', async () => {
    const wrong = readRealMnistFile('trainLabels').slice();
    wrong[8 + 123] = (wrong[8 + 123]! + 1) % 10;
    server = await startFileServer(routes({ ...gz, trainLabels: gzipSync(wrong) }));
    const url = server.baseUrl + gzName('trainLabels');
    const cache = new MapCache();
    const error = await loadMnistFromUrl(server.baseUrl, { cache }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as ChecksumMismatchError).file).toBe(url);
    expect(cache.entries.has(url)).toBe(false);
    expect(cache.calls).not.toContain(`put ${url}`);
  });

  it('a corrupt gzip byte is an IdxFormatError naming the URL, and is not cached', async () => {
    const corrupt = new Uint8Array(gz.testImages);
    corrupt[corrupt.length - 6] ^= 0xff; // inside the CRC-32 trailer: the deflate data inflates, the check fails
    server = await startFileServer(routes({ ...gz, testImages: corrupt }));
    const url = server.baseUrl + gzName('testImages');
    const cache = new MapCache();
    const error = await loadMnistFromUrl(server.baseUrl, { cache }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdxFormatError);
    expect((error as IdxFormatError).source).toBe(url);
    expect(cache.entries.has(url)).toBe(false);
  });

  it('a cached copy that was tampered with is deleted and fetched again; the good copy replaces it', async () => {
    server = await startFileServer(routes());
    const base = server.baseUrl;
    const cache = new MapCache();
    for (const key of MNIST_FILE_KEYS) cache.entries.set(base + gzName(key), new Uint8Array(gz[key]));
    const url = base + gzName('testImages');
    const tampered = gzipSync(readRealMnistFile('testImages').map((v, i) => (i === 5000 ? 255 - v : v)));
    cache.entries.set(url, tampered);

    const { mnist, events } = await withProgress((onProgress) =>
      loadMnistFromUrl(base, { cache, onProgress }),
    );
    expectRealMnist(mnist);
    expect(server.requests).toEqual([`/mnist/${gzName('testImages')}`]);
    expect(cache.calls.filter((c) => c.endsWith(url))).toEqual([`get ${url}`, `delete ${url}`, `put ${url}`]);
    expect(sameBytes(cache.entries.get(url)!, gz.testImages)).toBe(true);
    expectCompleteProgress(events, gzTotal);
    const phases = events.filter((e) => e.file === 'testImages').map((e) => e.phase);
    expect(phases.slice(0, 3)).toEqual(['cached', 'verify', 'download']);
    expect(phases.slice(-2)).toEqual(['verify', 'done']);
  });

  it('a body sent with Content-Encoding (as Vite serves .gz) counts at its uncompressed size', async () => {
    const encodedRoutes = routes();
    encodedRoutes[gzName('testImages')] = {
      kind: 'bytes',
      bytes: gz.testImages,
      headers: { 'content-encoding': 'gzip' },
    };
    server = await startFileServer(encodedRoutes);
    const base = server.baseUrl;
    const cache = new MapCache();
    const others = MNIST_FILE_KEYS.filter((k) => k !== 'testImages');
    for (const key of others) cache.entries.set(base + gzName(key), new Uint8Array(gz[key]));
    // The test images are fetched only once the other three came from the cache, so that their download's
    // progress events are the only ones moving.
    let othersDone!: () => void;
    const gate = new Promise<void>((resolve) => {
      othersDone = resolve;
    });
    const done = new Set<MnistFileKey>();
    const { mnist, events } = await withProgress((onProgress) =>
      loadMnistFromUrl(base, {
        cache,
        fetch: async (input, init) => {
          await gate;
          return fetch(input, init);
        },
        onProgress: (p) => {
          if (p.phase === 'done') done.add(p.file);
          if (others.every((k) => done.has(k))) othersDone();
          onProgress(p);
        },
      }),
    );
    expectRealMnist(mnist);
    const plainSize = MNIST_FILES.testImages.bytes;
    const othersSize = others.reduce((sum, k) => sum + gz[k].length, 0);
    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads.length).toBeGreaterThan(1);
    for (const event of downloads) expect(event.totalBytes).toBe(othersSize + plainSize);
    expectCompleteProgress(events, othersSize + plainSize);
    // What fetch handed over (the inflated file) verified, so that is what was cached.
    expect(cache.entries.get(base + gzName('testImages'))!.length).toBe(plainSize);
  });

  it('with verify off, the cache is neither read nor written', async () => {
    server = await startFileServer(routes());
    const cache = new MapCache();
    expectRealMnist(await loadMnistFromUrl(server.baseUrl, { cache, verify: false }));
    expect(cache.calls).toEqual([]);
  });

  it('a cache that fails (rejects or throws) never fails the load', async () => {
    server = await startFileServer(routes());
    const broken: MnistByteCache = {
      get: () => Promise.reject(new Error('storage is off')),
      put: () => {
        throw new Error('quota exceeded');
      },
      delete: () => Promise.reject(new Error('storage is off')),
    };
    expectRealMnist(await loadMnistFromUrl(server.baseUrl, { cache: broken }));
  });
});
