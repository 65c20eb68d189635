import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MnistDataError } from '../errors';
import { MAX_IDX_FILE_BYTES } from '../limits';
import { MNIST_FILE_KEYS, MNIST_FILES, type MnistFileKey } from '../mnist';
import { rssGrowthDuring } from '../test-utils/memory';
import { loadMnistFromDirectory, readBytes } from './directory';
import { embeddedMnistDirectory } from './embedded';

const scratch = mkdtempSync(join(tmpdir(), 'lenet-mnist-limits-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A directory with the real plain files, except `key`, which the caller puts there (plain or .gz). */
function directoryWithout(name: string, key: MnistFileKey): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const other of MNIST_FILE_KEYS.filter((k) => k !== key)) {
    copyFileSync(join(embeddedMnistDirectory(), MNIST_FILES[other].name), join(dir, MNIST_FILES[other].name));
  }
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome, 'expected a rejection').toBeInstanceOf(Error);
  return outcome as Error;
}

describe('loadMnistFromDirectory refuses files it must not read', () => {
  it.skipIf(process.platform === 'win32')(
    'a FIFO under an MNIST name is refused at once, not waited on',
    async () => {
      const dir = directoryWithout('fifo', 'trainImages');
      const fifo = join(dir, MNIST_FILES.trainImages.name);
      execFileSync('mkfifo', [fifo]);
      const error = await failure(loadMnistFromDirectory(dir));
      expect(error).toBeInstanceOf(MnistDataError);
      expect(error.message).toBe(
        `${fifo} is a named pipe (FIFO), not a regular file; put the MNIST file itself there (or remove it).`,
      );
    },
  );

  it('a directory under an MNIST name is refused, not an EISDIR', async () => {
    const dir = directoryWithout('subdir', 'testLabels');
    const inner = join(dir, MNIST_FILES.testLabels.name);
    mkdirSync(inner);
    const error = await failure(loadMnistFromDirectory(dir));
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toBe(
      `${inner} is a directory, not a regular file; put the MNIST file itself there (or remove it).`,
    );
  });

  it('a 2 GiB plain file (sparse) is refused from its size, before reading', async () => {
    const dir = directoryWithout('huge', 'trainImages');
    const huge = join(dir, MNIST_FILES.trainImages.name);
    writeFileSync(huge, '');
    truncateSync(huge, 2 * 1024 * 1024 * 1024);
    const { growth, outcome } = await rssGrowthDuring(() => loadMnistFromDirectory(dir));
    expect(outcome).toBeInstanceOf(MnistDataError);
    expect((outcome as Error).message).toBe(
      `${huge} is 2147483648 bytes, more than the ${MAX_IDX_FILE_BYTES}-byte (64 MiB) limit for an MNIST file, ` +
        'so it was not read. It is not an MNIST file; replace it with the official file.',
    );
    expect(growth).toBeLessThan(100 * 1024 * 1024);
  });

  it('a .gz larger than the cap is refused before reading too', async () => {
    const dir = directoryWithout('huge-gz', 'testImages');
    const huge = join(dir, `${MNIST_FILES.testImages.name}.gz`);
    writeFileSync(huge, Uint8Array.from([0x1f, 0x8b, 8, 0]));
    truncateSync(huge, MAX_IDX_FILE_BYTES + 1);
    const error = await failure(loadMnistFromDirectory(dir));
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toMatch(
      new RegExp(`^${huge.replace(/[.]/g, '\\.')} is ${MAX_IDX_FILE_BYTES + 1} bytes, more`),
    );
  });

  it('readBytes takes a lower cap and reads a file exactly at it', async () => {
    const file = join(scratch, 'exact');
    writeFileSync(file, new Uint8Array(1000).fill(7));
    const bytes = await readBytes(file, 1000);
    expect(bytes.length).toBe(1000);
    expect(bytes[999]).toBe(7);
    expect(Buffer.isBuffer(bytes)).toBe(false);
    await expect(readBytes(file, 999)).rejects.toThrow(`${file} is 1000 bytes, more than the 999-byte`);
  });

  it('an empty test split names its images file', async () => {
    const dir = directoryWithout('empty-test', 'testImages');
    writeFileSync(join(dir, MNIST_FILES.testLabels.name), Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 0]));
    writeFileSync(
      join(dir, MNIST_FILES.testImages.name),
      Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]),
    );
    const error = await failure(loadMnistFromDirectory(dir));
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toContain(
      `MNIST test split (${join(dir, MNIST_FILES.testImages.name)}): the images file holds 0 images`,
    );
  });
});
