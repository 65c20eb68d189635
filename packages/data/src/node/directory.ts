import type { Stats } from 'node:fs';
import { access, constants, open } from 'node:fs/promises';
import { join } from 'node:path';
import { MnistDataError } from '../errors';
import { describeBytes, MAX_IDX_FILE_BYTES } from '../limits';
import {
  decodeMnistFile,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type Mnist,
  type MnistFileKey,
  parseMnistFiles,
} from '../mnist';

/** Options of {@link loadMnistFromDirectory}. */
export interface LoadMnistFromDirectoryOptions {
  /**
   * Check each file's SHA-256 against the official MNIST (default false: look-alike datasets such as
   * Fashion-MNIST use the same file names and format).
   */
  verify?: boolean;
}

/**
 * Loads MNIST from a directory holding the four files under their official names, each either plain
 * (`train-images-idx3-ubyte`) or gzip-compressed (`train-images-idx3-ubyte.gz`); plain wins if both exist.
 * Each file must be a regular file of at most `MAX_IDX_FILE_BYTES`, checked before it is read; a .gz is
 * inflated no further than its IDX header declares (or, with `verify`, the official size).
 * @throws MnistDataError listing every path it looked for when files are missing; IdxFormatError,
 *   MnistDataError or ChecksumMismatchError naming the file when one is bad (not a regular file, too
 *   large, corrupt, an empty split).
 */
export async function loadMnistFromDirectory(
  dir: string,
  options: LoadMnistFromDirectoryOptions = {},
): Promise<Mnist> {
  const paths = await findMnistFiles(dir);
  const files = {} as Record<MnistFileKey, Uint8Array>;
  for (const key of MNIST_FILE_KEYS) {
    const path = paths[key];
    files[key] = await decodeMnistFile(key, await readBytes(path), path, { verify: options.verify ?? false });
  }
  return parseMnistFiles(files, paths);
}

async function findMnistFiles(dir: string): Promise<Record<MnistFileKey, string>> {
  const found = {} as Record<MnistFileKey, string>;
  const missing: string[] = [];
  for (const key of MNIST_FILE_KEYS) {
    const candidates = [join(dir, MNIST_FILES[key].name), join(dir, `${MNIST_FILES[key].name}.gz`)];
    const path = await firstExisting(candidates);
    if (path) found[key] = path;
    else missing.push(candidates.join(' or '));
  }
  if (missing.length > 0) {
    throw new MnistDataError(
      `MNIST directory ${dir} lacks ${missing.length} of the 4 files; looked for ${missing.join('; ')}. ` +
        'Put the official files there (plain or .gz), or use another MNIST source.',
    );
  }
  return found;
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path);
      return path;
    } catch {
      // Not there: try the next name.
    }
  }
  return undefined;
}

/**
 * Reads a file as a plain Uint8Array (not a Buffer), so parsed arrays compare and copy like any other.
 * Only a regular file of at most `maxBytes` is read: the checks run on the open file (fstat) before a
 * byte is read, and opening does not block, so a FIFO or a device under an MNIST name is refused at once
 * instead of hanging or streaming forever.
 * @throws MnistDataError naming the path when it is not a regular file or is too large; the file system's
 *   own error (ENOENT, EACCES, ...) when it cannot be opened.
 */
export async function readBytes(path: string, maxBytes = MAX_IDX_FILE_BYTES): Promise<Uint8Array> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, possibly forever.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new MnistDataError(
        `${path} is ${describeKind(stats)}, not a regular file; put the MNIST file itself there (or remove it).`,
      );
    }
    if (stats.size > maxBytes) {
      throw new MnistDataError(
        `${path} is ${stats.size} bytes, more than the ${maxBytes}-byte (${describeBytes(maxBytes)}) limit for ` +
          'an MNIST file, so it was not read. It is not an MNIST file; replace it with the official file.',
      );
    }
    const bytes = new Uint8Array(stats.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break; // The file shrank since fstat; the parser reports it as truncated.
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

function describeKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}
