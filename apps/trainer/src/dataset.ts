import { join } from 'node:path';
import {
  batches,
  type Mnist,
  type MnistSplit,
  type PreparedSplit,
  type Preprocessing,
  preprocessImages,
} from '@lenet/data';
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

/** The first `limit` images of a split, preprocessed once into model inputs. */
export function prepare(split: MnistSplit, preprocessing: Preprocessing, limit?: number): PreparedSplit {
  const count = Math.min(split.count, limit ?? split.count);
  return {
    count,
    inputs: preprocessImages(split.images.subarray(0, count * 28 * 28), count, preprocessing),
    labels: split.labels.subarray(0, count),
  };
}

/** Evaluation batches: in order, no augmentation, large for throughput. */
export function evaluationBatches(split: PreparedSplit, batchSize = 1000) {
  return batches(split, { batchSize, shuffle: false });
}
