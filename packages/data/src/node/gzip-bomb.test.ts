import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IdxFormatError } from '../idx';
import { MAX_IDX_FILE_BYTES } from '../limits';
import { loadMnistFromUrl, MNIST_FILE_KEYS, MNIST_FILES, type MnistFileKey } from '../mnist';
import { type FileServer, type Route, startFileServer } from '../test-utils/file-server';
import { makeGzipBomb } from '../test-utils/gzip-bomb';
import { rssGrowthDuring } from '../test-utils/memory';
import { gzipRealMnistFiles } from '../test-utils/mnist-files';
import { loadMnistFromDirectory } from './directory';
import { downloadMnist } from './download';
import { embeddedMnistDirectory } from './embedded';

// The bombs inflate to 256 MiB, four times the hard limit; a loader that inflated them whole would hold
// at least that twice over. The bound leaves room for the limit itself plus the real files loaded beside.
const BOMB_ZEROS = 256 * 1024 * 1024;
const MEMORY_BOUND = 300 * 1024 * 1024;

const scratch = mkdtempSync(join(tmpdir(), 'lenet-gzip-bomb-'));
let zerosBomb: Uint8Array;
let headerBomb: Uint8Array;
let gz: Record<MnistFileKey, Uint8Array>;
let server: FileServer | undefined;

beforeAll(async () => {
  zerosBomb = await makeGzipBomb(BOMB_ZEROS);
  // A valid header for the 60,000 training images, then far more pixels than it declares.
  const header = Uint8Array.from([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]);
  headerBomb = await makeGzipBomb(BOMB_ZEROS, header);
  gz = gzipRealMnistFiles();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A directory with the real files, plain, except train-images, which is `bomb` as a .gz. */
function directoryWithBomb(name: string, bomb: Uint8Array): { dir: string; bombPath: string } {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const key of MNIST_FILE_KEYS.filter((k) => k !== 'trainImages')) {
    copyFileSync(join(embeddedMnistDirectory(), MNIST_FILES[key].name), join(dir, MNIST_FILES[key].name));
  }
  const bombPath = join(dir, `${MNIST_FILES.trainImages.name}.gz`);
  writeFileSync(bombPath, bomb);
  return { dir, bombPath };
}

/** The routes of a mirror serving the real .gz files, except train-images, which is `bomb`. */
function routesWithBomb(bomb: Uint8Array): Record<string, Route> {
  const routes: Record<string, Route> = {};
  for (const key of MNIST_FILE_KEYS)
    routes[`${MNIST_FILES[key].name}.gz`] = { kind: 'bytes', bytes: gz[key] };
  routes[`${MNIST_FILES.trainImages.name}.gz`] = { kind: 'bytes', bytes: bomb };
  return routes;
}

function expectOneLineIdxError(outcome: unknown, message: string): void {
  expect(outcome).toBeInstanceOf(IdxFormatError);
  expect((outcome as Error).message).toBe(message);
  expect((outcome as Error).message).not.toContain('\n');
}

describe('a gzip bomb in a data directory', () => {
  it('is stopped at the hard limit, naming the file, with bounded memory', async () => {
    expect(zerosBomb.length).toBeLessThan(2 * 1024 * 1024);
    const { dir, bombPath } = directoryWithBomb('zeros', zerosBomb);
    const { growth, outcome } = await rssGrowthDuring(() => loadMnistFromDirectory(dir));
    expectOneLineIdxError(
      outcome,
      `${bombPath}: inflates to more than ${MAX_IDX_FILE_BYTES} bytes, the 64 MiB limit for an IDX file; ` +
        'stopped inflating. It is not an MNIST file (or is a decompression bomb): delete it and fetch the ' +
        'official file.',
    );
    expect(growth).toBeLessThan(MEMORY_BOUND);
  });

  it('behind a valid header is stopped at the size the header declares', async () => {
    const { dir, bombPath } = directoryWithBomb('header', headerBomb);
    const { growth, outcome } = await rssGrowthDuring(() => loadMnistFromDirectory(dir));
    expectOneLineIdxError(
      outcome,
      `${bombPath}: inflates to more than the 47040016 bytes its IDX header declares (60000 images of 28x28); ` +
        'stopped inflating. The file is corrupt or not an MNIST file: delete it and fetch it again.',
    );
    expect(growth).toBeLessThan(MEMORY_BOUND);
  });

  it('with verify, is stopped at the official size', async () => {
    const { dir, bombPath } = directoryWithBomb('verify', zerosBomb);
    const { growth, outcome } = await rssGrowthDuring(() => loadMnistFromDirectory(dir, { verify: true }));
    expectOneLineIdxError(
      outcome,
      `${bombPath}: inflates to more than 47040016 bytes, the size of the official train-images-idx3-ubyte; ` +
        'stopped inflating. It is not an MNIST file (or is a decompression bomb): delete it and fetch the ' +
        'official file.',
    );
    expect(growth).toBeLessThan(MEMORY_BOUND);
  });
});

describe('a gzip bomb served over a loopback URL', () => {
  it('loadMnistFromUrl stops it at the official size, naming the URL, with bounded memory', async () => {
    server = await startFileServer(routesWithBomb(zerosBomb));
    const url = `${server.baseUrl}${MNIST_FILES.trainImages.name}.gz`;
    const { growth, outcome } = await rssGrowthDuring(() => loadMnistFromUrl(server!.baseUrl));
    expectOneLineIdxError(
      outcome,
      `${url}: inflates to more than 47040016 bytes, the size of the official train-images-idx3-ubyte; ` +
        'stopped inflating. It is not an MNIST file (or is a decompression bomb): delete it and fetch the ' +
        'official file.',
    );
    expect(growth).toBeLessThan(MEMORY_BOUND);
  });

  it('loadMnistFromUrl without verify stops it at the header or the hard limit', async () => {
    server = await startFileServer(routesWithBomb(headerBomb));
    const url = `${server.baseUrl}${MNIST_FILES.trainImages.name}.gz`;
    const { growth, outcome } = await rssGrowthDuring(() =>
      loadMnistFromUrl(server!.baseUrl, { verify: false }),
    );
    expectOneLineIdxError(
      outcome,
      `${url}: inflates to more than the 47040016 bytes its IDX header declares (60000 images of 28x28); ` +
        'stopped inflating. The file is corrupt or not an MNIST file: delete it and fetch it again.',
    );
    expect(growth).toBeLessThan(MEMORY_BOUND);
  });

  it('downloadMnist stops it, names the URL and caches nothing of it', async () => {
    server = await startFileServer(routesWithBomb(zerosBomb));
    const cacheDir = join(scratch, 'cache');
    const url = `${server.baseUrl}${MNIST_FILES.trainImages.name}.gz`;
    const { growth, outcome } = await rssGrowthDuring(() =>
      downloadMnist({ baseUrl: server!.baseUrl, cacheDir }),
    );
    expectOneLineIdxError(
      outcome,
      `${url}: inflates to more than 47040016 bytes, the size of the official train-images-idx3-ubyte; ` +
        'stopped inflating. It is not an MNIST file (or is a decompression bomb): delete it and fetch the ' +
        'official file.',
    );
    expect(growth).toBeLessThan(MEMORY_BOUND);
    expect(readdirSync(cacheDir)).toEqual([]);
  });
});
