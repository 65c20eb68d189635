import { join } from 'node:path';
import { batches, type Mnist, type PreparedSplit } from '@lenet/data';
import { loadMnist, parseMnistSource } from '@lenet/data/node';
import { CliError, describeError } from './errors';

/** Where `--data` URLs are cached: beside the user's other caches, never inside a run's output. */
export const DEFAULT_CACHE_DIR = join(
  process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '.', '.cache'),
  'lenet',
  'mnist',
);

/** Loads MNIST from a `--data` value: 'embedded' (default), a directory of IDX files, or an http(s) URL. */
export async function loadData(spec: string): Promise<Mnist> {
  try {
    return await loadMnist(parseMnistSource(spec, DEFAULT_CACHE_DIR));
  } catch (error) {
    throw new CliError(`cannot load MNIST from '${spec}': ${describeError(error)}`);
  }
}

/** Evaluation batches: in order, no augmentation, large for throughput. */
export function evaluationBatches(split: PreparedSplit, batchSize = 1000) {
  return batches(split, { batchSize, shuffle: false });
}
