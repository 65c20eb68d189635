import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, MnistDataError } from './errors';
import { IdxFormatError, parseIdxImages, parseIdxLabels } from './idx';
import {
  checkMnistSplit,
  decodeMnistFile,
  loadMnistFromUrl,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type MnistFileKey,
  parseMnistFiles,
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

  it('bytes is the size of each official uncompressed file', () => {
    for (const key of MNIST_FILE_KEYS) expect(real[key].length).toBe(MNIST_FILES[key].bytes);
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

describe('empty splits', () => {
  /** A well-formed IDX header that declares no items. */
  const emptyImages = () => Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]);
  const emptyLabels = () => Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 0]);

  it('checkMnistSplit refuses a split of 0 images', () => {
    const split = () => checkMnistSplit(parseIdxImages(emptyImages()), parseIdxLabels(emptyLabels()), 'x');
    expect(split).toThrow(MnistDataError);
    expect(split).toThrow(/^MNIST x: the images file holds 0 images/);
  });

  it('parseMnistFiles names the images file of an empty training or test split, in one line', () => {
    const files = { ...real, trainImages: emptyImages(), trainLabels: emptyLabels() };
    expect(() => parseMnistFiles(files, { trainImages: '/data/train-images-idx3-ubyte' })).toThrow(
      new MnistDataError(
        'MNIST train split (/data/train-images-idx3-ubyte): the images file holds 0 images (its IDX header ' +
          'count is 0), so there is nothing to train or test on. Use the complete MNIST file, or another ' +
          'MNIST source.',
      ),
    );
    const emptyTest = { ...real, testImages: emptyImages(), testLabels: emptyLabels() };
    expect(() => parseMnistFiles(emptyTest)).toThrow(
      /^MNIST test split \(t10k-images-idx3-ubyte\): the images file holds 0 images[^\n]*$/,
    );
  });
});

describe('decodeMnistFile', () => {
  it('a mirror that re-compressed the file (another gzip, same content) still verifies', async () => {
    for (const key of ['trainLabels', 'testLabels'] as const) {
      const mirror = gzipSync(real[key], { level: 9 });
      expect(await sha256Hex(mirror)).not.toBe(MNIST_FILES[key].gzSha256);
      const bytes = await decodeMnistFile(key, mirror, `mirror/${key}.gz`);
      expect(sameBytes(bytes, real[key])).toBe(true);
    }
  });

  it('with verify, a .gz is never inflated beyond the official size', async () => {
    // A well-formed label file with twice the official count: its header is over the official size.
    const doubled = new Uint8Array(8 + 20_000);
    doubled.set(real.testLabels.subarray(0, 8));
    new DataView(doubled.buffer).setUint32(4, 20_000);
    const gz = gzipSync(doubled);
    await expect(decodeMnistFile('testLabels', gz, 'big.gz')).rejects.toThrow(
      new IdxFormatError(
        'big.gz',
        'its IDX header declares 20000 labels (20008 bytes), more than 10008 bytes, the size of the official ' +
          't10k-labels-idx1-ubyte; stopped inflating. The file is corrupt or not an MNIST file: delete it and ' +
          'fetch it again.',
      ),
    );
    // Without verify, a look-alike of another size is fine.
    expect((await decodeMnistFile('testLabels', gz, 'big.gz', { verify: false })).length).toBe(20_008);
  });

  it('with verify, plain bytes are checked against the official hash', async () => {
    const altered = real.testLabels.slice();
    altered[8] = (altered[8]! + 1) % 10;
    await expect(decodeMnistFile('testLabels', altered, 'plain')).rejects.toThrow(ChecksumMismatchError);
    expect(await decodeMnistFile('testLabels', real.testLabels, 'plain')).toBe(real.testLabels);
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

  it('loads from a mirror that re-compressed the files at other levels', async () => {
    const routes = Object.fromEntries(
      MNIST_FILE_KEYS.map((key) => [
        `${MNIST_FILES[key].name}.gz`,
        { kind: 'bytes', bytes: gzipSync(real[key], { level: key.endsWith('Labels') ? 9 : 1 }) } as Route,
      ]),
    );
    server = await startFileServer(routes);
    const mnist = await loadMnistFromUrl(server.baseUrl);
    expect(sameBytes(mnist.test.labels, real.testLabels.subarray(8))).toBe(true);
    expect(sameBytes(mnist.train.labels, real.trainLabels.subarray(8))).toBe(true);
  });

  it('gives up on a server that never answers, after headersTimeoutMs, naming the URL', async () => {
    const silent = MNIST_FILE_KEYS.map((key) => [`${MNIST_FILES[key].name}.gz`, { kind: 'silent' } as Route]);
    server = await startFileServer(Object.fromEntries(silent));
    const error = await loadMnistFromUrl(server.baseUrl, { headersTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MnistDataError);
    expect((error as Error).message).toMatch(
      /^No response headers from http:\/\/127\.0\.0\.1:\d+\/mnist\/[a-z0-9-]+\.gz within 0\.2 s/,
    );
  });

  it('one failed file abandons the other downloads: no request timer outlives the call', async () => {
    const liveTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const routes = Object.fromEntries(
      MNIST_FILE_KEYS.map((key) => [`${MNIST_FILES[key].name}.gz`, { kind: 'silent' } as Route]),
    );
    routes[`${MNIST_FILES.testLabels.name}.gz`] = { kind: 'status', status: 404 };
    server = await startFileServer(routes);
    const timersBefore = liveTimers();
    // The three silent servers would hold a 60 s headers timer each if they were not abandoned.
    await expect(loadMnistFromUrl(server.baseUrl, { headersTimeoutMs: 60_000 })).rejects.toThrow(/HTTP 404/);
    for (let turn = 0; turn < 100 && liveTimers() > timersBefore; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(liveTimers()).toBeLessThanOrEqual(timersBefore);
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
