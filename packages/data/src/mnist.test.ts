import { afterEach, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, MnistDataError } from './errors';
import { IdxFormatError, parseIdxImages, parseIdxLabels } from './idx';
import {
  checkMnistSplit,
  loadMnistFromUrl,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type MnistFileKey,
  sha256Hex,
} from './mnist';
import { type FileServer, type Route, startFileServer } from './test-utils/file-server';
import { gzipRealMnistFiles, readRealMnistFile, sameBytes } from './test-utils/mnist-files';

const real = {} as Record<MnistFileKey, Uint8Array>;
for (const key of MNIST_FILE_KEYS) real[key] = readRealMnistFile(key);

describe('MNIST_FILES and sha256Hex', () => {
  it('the embedded files match the official SHA-256 of each file', async () => {
    for (const key of MNIST_FILE_KEYS) expect(await sha256Hex(real[key])).toBe(MNIST_FILES[key].sha256);
  });

  it('sha256Hex gives the standard digests', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(await sha256Hex(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});

describe('checkMnistSplit', () => {
  const images = parseIdxImages(real.testImages);
  const labels = parseIdxLabels(real.testLabels);

  it('returns the split for matching files', () => {
    const split = checkMnistSplit(images, labels, 'test');
    expect(split.count).toBe(10000);
    expect(split.images.length).toBe(10000 * 784);
    expect(split.labels[0]).toBe(7);
  });

  it('rejects splits whose counts disagree, or images that are not 28x28', () => {
    const trainLabels = parseIdxLabels(real.trainLabels);
    expect(() => checkMnistSplit(images, trainLabels, 'test')).toThrow(MnistDataError);
    expect(() => checkMnistSplit(images, trainLabels, 'test')).toThrow(/10000 images but 60000 labels/);
    const wide = { ...images, rows: 32, cols: 24 };
    expect(() => checkMnistSplit(wide, labels, 'test')).toThrow(
      /images are 32x24, but MNIST images are 28x28/,
    );
  });
});

describe('loadMnistFromUrl (loopback HTTP server)', () => {
  let server: FileServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const plainRoutes = (): Record<string, Route> =>
    Object.fromEntries(
      MNIST_FILE_KEYS.map((key) => [MNIST_FILES[key].name, { kind: 'bytes', bytes: real[key] }]),
    );

  it('loads and verifies plain files (gzip: false)', async () => {
    server = await startFileServer(plainRoutes());
    const mnist = await loadMnistFromUrl(server.baseUrl, { gzip: false });
    expect(mnist.train.count).toBe(60000);
    expect(mnist.test.count).toBe(10000);
    expect(Array.from(mnist.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(sameBytes(mnist.test.images, real.testImages.subarray(16))).toBe(true);
    expect(sameBytes(mnist.train.images, real.trainImages.subarray(16))).toBe(true);
    expect([...server.requests].sort()).toEqual(
      MNIST_FILE_KEYS.map((k) => `/mnist/${MNIST_FILES[k].name}`).sort(),
    );
  });

  it('fetches <name>.gz by default and decompresses it', async () => {
    const gz = gzipRealMnistFiles();
    const routes = Object.fromEntries(
      MNIST_FILE_KEYS.map((key) => [
        `${MNIST_FILES[key].name}.gz`,
        { kind: 'bytes', bytes: gz[key] } as Route,
      ]),
    );
    server = await startFileServer(routes);
    const mnist = await loadMnistFromUrl(server.baseUrl.replace(/\/$/, ''));
    expect(sameBytes(mnist.train.labels, real.trainLabels.subarray(8))).toBe(true);
    expect(sameBytes(mnist.train.images, real.trainImages.subarray(16))).toBe(true);
  });

  it('reports an HTTP 404 with the URL and the status', async () => {
    const routes = plainRoutes();
    delete routes[MNIST_FILES.testLabels.name];
    server = await startFileServer(routes);
    const url = `${server.baseUrl}${MNIST_FILES.testLabels.name}`;
    const error = await loadMnistFromUrl(server.baseUrl, { gzip: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MnistDataError);
    expect((error as Error).message).toContain(`GET ${url} answered HTTP 404 Not Found`);
  });

  it('rejects a file with the wrong checksum unless verify is false', async () => {
    const routes = plainRoutes();
    const altered = Uint8Array.from(real.testImages);
    altered[1000] ^= 0xff;
    routes[MNIST_FILES.testImages.name] = { kind: 'bytes', bytes: altered };
    server = await startFileServer(routes);
    const error = await loadMnistFromUrl(server.baseUrl, { gzip: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as ChecksumMismatchError).file).toBe(`${server.baseUrl}${MNIST_FILES.testImages.name}`);
    expect((error as Error).message).toContain(
      `expected ${MNIST_FILES.testImages.sha256}, got ${await sha256Hex(altered)}`,
    );
    const unverified = await loadMnistFromUrl(server.baseUrl, { gzip: false, verify: false });
    expect(unverified.test.images[1000 - 16]).toBe(altered[1000]);
  });

  it('takes per-file names and reports a bad file with its URL', async () => {
    server = await startFileServer({
      ...plainRoutes(),
      'labels.bin': { kind: 'bytes', bytes: real.testImages },
    });
    const error = await loadMnistFromUrl(server.baseUrl, {
      gzip: false,
      verify: false,
      files: { testLabels: 'labels.bin' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdxFormatError);
    expect((error as Error).message).toMatch(/labels\.bin: wrong magic number 2051/);
  });

  it('a refused connection names the URL', async () => {
    server = await startFileServer({});
    const base = server.baseUrl;
    await server.close();
    server = undefined;
    await expect(loadMnistFromUrl(base)).rejects.toThrow(
      /Could not fetch http:\/\/127\.0\.0\.1:\d+\/mnist\/train-images/,
    );
  });
});
