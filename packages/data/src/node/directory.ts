import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MnistDataError } from '../errors';
import { gunzipIfNeeded } from '../idx';
import {
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type Mnist,
  type MnistFileKey,
  parseMnistFiles,
  verifyMnistFile,
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
 * @throws MnistDataError listing every path it looked for when files are missing; IdxFormatError,
 *   MnistDataError or ChecksumMismatchError naming the file when one is bad.
 */
export async function loadMnistFromDirectory(
  dir: string,
  options: LoadMnistFromDirectoryOptions = {},
): Promise<Mnist> {
  const paths = await findMnistFiles(dir);
  const files = {} as Record<MnistFileKey, Uint8Array>;
  for (const key of MNIST_FILE_KEYS) {
    const path = paths[key];
    files[key] = await gunzipIfNeeded(await readBytes(path), path);
    if (options.verify) await verifyMnistFile(key, files[key], path);
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
      `MNIST directory ${dir} lacks ${missing.length} of the 4 files. Looked for:\n  ${missing.join('\n  ')}\n` +
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

/** Reads a file as a plain Uint8Array (not a Buffer), so parsed arrays compare and copy like any other. */
export async function readBytes(path: string): Promise<Uint8Array> {
  const buffer = await readFile(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
