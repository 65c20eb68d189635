import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, MnistDataError } from '../errors';
import { MNIST_FILE_KEYS, MNIST_FILES, type MnistFileKey, sha256Hex } from '../mnist';
import { type FileServer, type Route, startFileServer } from '../test-utils/file-server';
import { gzipRealMnistFiles, readRealMnistFile, sameBytes } from '../test-utils/mnist-files';
import { type DownloadProgress, downloadMnist } from './download';

let gz: Record<MnistFileKey, Uint8Array>;
let server: FileServer | undefined;
let cacheDir: string;

const gzName = (key: MnistFileKey) => `${MNIST_FILES[key].name}.gz`;
const goodRoutes = (): Record<string, Route> =>
  Object.fromEntries(MNIST_FILE_KEYS.map((key) => [gzName(key), { kind: 'bytes', bytes: gz[key] }]));

beforeAll(() => {
  gz = gzipRealMnistFiles();
});
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'lenet-mnist-cache-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('downloadMnist (loopback HTTP server)', () => {
  it('downloads, verifies and caches the four .gz files; a second call downloads nothing', async () => {
    server = await startFileServer(goodRoutes());
    const progress: DownloadProgress[] = [];
    const mnist = await downloadMnist({
      baseUrl: server.baseUrl,
      cacheDir,
      onProgress: (p) => progress.push(p),
    });
    expect(mnist.train.count).toBe(60000);
    expect(mnist.test.count).toBe(10000);
    expect(Array.from(mnist.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(sameBytes(mnist.train.images, readRealMnistFile('trainImages').subarray(16))).toBe(true);
    expect(server.requests).toEqual(MNIST_FILE_KEYS.map((key) => `/mnist/${gzName(key)}`));
    expect(readdirSync(cacheDir).sort()).toEqual(MNIST_FILE_KEYS.map(gzName).sort());
    const done = progress.filter((p) => p.state === 'done');
    expect(done.map((p) => p.file)).toEqual(MNIST_FILE_KEYS.map(gzName));
    expect(done[0]!.receivedBytes).toBe(gz.trainImages.length);
    const downloading = progress.filter((p) => p.state === 'downloading' && p.file === gzName('trainImages'));
    expect(downloading.at(-1)!.receivedBytes).toBe(gz.trainImages.length);
    expect(downloading.at(-1)!.totalBytes).toBe(gz.trainImages.length);

    const again: DownloadProgress[] = [];
    const cached = await downloadMnist({
      baseUrl: server.baseUrl,
      cacheDir,
      onProgress: (p) => again.push(p),
    });
    expect(server.requests.length).toBe(4);
    expect(again.map((p) => p.state)).toEqual(['cached', 'cached', 'cached', 'cached']);
    expect(sameBytes(cached.test.images, mnist.test.images)).toBe(true);
  });

  it('replaces a cached file that no longer verifies', async () => {
    server = await startFileServer(goodRoutes());
    writeFileSync(join(cacheDir, gzName('testLabels')), gzipSync(new Uint8Array(100)));
    await downloadMnist({ baseUrl: server.baseUrl, cacheDir });
    expect(server.requests).toEqual(MNIST_FILE_KEYS.map((key) => `/mnist/${gzName(key)}`));
    await downloadMnist({ baseUrl: server.baseUrl, cacheDir });
    expect(server.requests.length).toBe(4);
  });

  it('a bad hash leaves no file under the final name, and the error names the file and both hashes', async () => {
    const altered = readRealMnistFile('trainLabels').slice();
    altered[8] = (altered[8]! + 1) % 10; // still a valid label file, but not the official one
    server = await startFileServer({
      ...goodRoutes(),
      [gzName('trainLabels')]: { kind: 'bytes', bytes: gzipSync(altered) },
    });
    const error = await downloadMnist({ baseUrl: server.baseUrl, cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    const message = (error as Error).message;
    expect(message).toContain(`${server.baseUrl}train-labels-idx1-ubyte.gz`);
    expect(message).toContain(`expected ${MNIST_FILES.trainLabels.sha256}, got ${await sha256Hex(altered)}`);
    // The file before it is cached; the bad one and anything temporary are not.
    expect(readdirSync(cacheDir)).toEqual([gzName('trainImages')]);
  });

  it('an interrupted download gives a clear error and leaves no partial file', async () => {
    server = await startFileServer({
      ...goodRoutes(),
      [gzName('trainImages')]: { kind: 'cut', bytes: gz.trainImages, after: 100_000 },
    });
    const error = await downloadMnist({ baseUrl: server.baseUrl, cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MnistDataError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `Download of ${server.baseUrl}train-images-idx3-ubyte.gz was interrupted after \\d+ of ${gz.trainImages.length} bytes`,
      ),
    );
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('an HTTP 404 names the URL and the status, and writes nothing', async () => {
    const routes = goodRoutes();
    delete routes[gzName('testImages')];
    server = await startFileServer(routes);
    await expect(downloadMnist({ baseUrl: server.baseUrl, cacheDir })).rejects.toThrow(
      `GET ${server.baseUrl}t10k-images-idx3-ubyte.gz answered HTTP 404 Not Found`,
    );
    expect(existsSync(join(cacheDir, gzName('testImages')))).toBe(false);
    expect(readdirSync(cacheDir).sort()).toEqual([gzName('trainImages'), gzName('trainLabels')].sort());
  });

  it('creates the cache directory', async () => {
    server = await startFileServer(goodRoutes());
    const nested = join(cacheDir, 'a', 'b');
    await downloadMnist({ baseUrl: server.baseUrl, cacheDir: nested });
    expect(readdirSync(nested).length).toBe(4);
  });
});
