import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChecksumMismatchError } from '../errors';
import { fetchBytes } from '../fetch-bytes';
import { IdxFormatError } from '../idx';
import type { NetworkTimeouts } from '../limits';
import {
  decodeMnistFile,
  joinUrl,
  MNIST_DEFAULT_BASE_URL,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type Mnist,
  type MnistFileKey,
  parseMnistFiles,
} from '../mnist';
import { readBytes } from './directory';

/** Progress of one file: 'cached' (a verified copy was on disk), 'downloading' (per chunk), 'done'. */
export interface DownloadProgress {
  /** The file's name, e.g. "train-images-idx3-ubyte.gz". */
  file: string;
  state: 'cached' | 'downloading' | 'done';
  receivedBytes: number;
  /** From Content-Length; undefined when the server does not say. */
  totalBytes: number | undefined;
}

/** Options of {@link downloadMnist}; the timeouts apply to each download. */
export interface DownloadMnistOptions extends NetworkTimeouts {
  /** Where `<name>.gz` files are fetched from (default {@link MNIST_DEFAULT_BASE_URL}). */
  baseUrl?: string;
  /** Directory that keeps the verified .gz files; created if missing. */
  cacheDir: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  onProgress?: (progress: DownloadProgress) => void;
}

/**
 * Loads MNIST from the cache directory, downloading the official `.gz` files that are not there yet.
 * A download is capped at `MAX_IDX_FILE_BYTES` and must answer within `headersTimeoutMs` and keep sending
 * within `stallTimeoutMs`. The official .gz is recognised by its own SHA-256 before it is inflated; any
 * other .gz (a mirror's re-compression) is inflated no further than the official size and its content
 * checked. A downloaded file is decompressed and its SHA-256 checked before it is written, to a temporary file in
 * the same directory that is then renamed: a bad hash or a cut connection never leaves a file under the
 * final name. A cached file that no longer verifies is deleted and downloaded again.
 * Files are fetched one after another, in {@link MNIST_FILE_KEYS} order.
 * @throws MnistDataError (HTTP status, network error, timeout, interrupted or oversized body, naming the
 *   URL), IdxFormatError (a .gz that inflates beyond the official size) or ChecksumMismatchError (the URL,
 *   expected and actual hash).
 */
export async function downloadMnist(options: DownloadMnistOptions): Promise<Mnist> {
  const { baseUrl = MNIST_DEFAULT_BASE_URL, cacheDir } = options;
  await mkdir(cacheDir, { recursive: true });
  const files = {} as Record<MnistFileKey, Uint8Array>;
  const sources = {} as Record<MnistFileKey, string>;
  for (const key of MNIST_FILE_KEYS) {
    const fileName = `${MNIST_FILES[key].name}.gz`;
    const path = join(cacheDir, fileName);
    sources[key] = path;
    const cached = await readVerifiedCache(key, path);
    if (cached) {
      options.onProgress?.({
        file: fileName,
        state: 'cached',
        receivedBytes: cached.raw.length,
        totalBytes: cached.raw.length,
      });
      files[key] = cached.bytes;
      continue;
    }
    const url = joinUrl(baseUrl, fileName);
    const raw = await fetchBytes(url, {
      fetch: options.fetch,
      headersTimeoutMs: options.headersTimeoutMs,
      stallTimeoutMs: options.stallTimeoutMs,
      onProgress: (progress) => options.onProgress?.({ file: fileName, state: 'downloading', ...progress }),
    });
    files[key] = await decodeMnistFile(key, raw, url, { verify: true });
    await writeFileAtomically(path, raw);
    options.onProgress?.({
      file: fileName,
      state: 'done',
      receivedBytes: raw.length,
      totalBytes: raw.length,
    });
  }
  return parseMnistFiles(files, sources);
}

/** The cached file's bytes if it exists and matches the official hash; a bad copy is deleted. */
async function readVerifiedCache(
  key: MnistFileKey,
  path: string,
): Promise<{ raw: Uint8Array; bytes: Uint8Array } | undefined> {
  let raw: Uint8Array;
  try {
    raw = await readBytes(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return { raw, bytes: await decodeMnistFile(key, raw, path, { verify: true }) };
  } catch (error) {
    if (!(error instanceof ChecksumMismatchError || error instanceof IdxFormatError)) throw error;
    await rm(path, { force: true });
    return undefined;
  }
}

/** Writes to a temporary file next to `path`, then renames it, so readers never see a partial file. */
async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
