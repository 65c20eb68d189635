import { join } from 'node:path';
import type { Preprocessing } from '@lenet/data';
import { fileSystemHandler } from '@lenet/node';
import { type LeNet5, loadWeights } from '@lenet/ops';
import { CliError, describeError } from './errors';
import { RECIPES } from './recipe';

/** Where `train` leaves its final weights, and where `eval` and `predict` look by default. */
export const DEFAULT_WEIGHTS_DIR = join('runs', 'lenet5', 'model');

/** Loads trained weights and the preprocessing they were trained with (recorded by `train`). */
export async function loadTrainedModel(
  dir: string,
): Promise<{ model: LeNet5; preprocessing: Preprocessing }> {
  let loaded: Awaited<ReturnType<typeof loadWeights>>;
  try {
    loaded = await loadWeights(fileSystemHandler(dir));
  } catch (error) {
    throw new CliError(
      `cannot load weights from ${dir}: ${describeError(error)}. Train first ('pnpm train') or pass --weights DIR`,
    );
  }
  const recorded = loaded.metadata.preprocessing as Preprocessing | undefined;
  if (!recorded) {
    console.warn(
      `warning: ${dir} does not say how its inputs were preprocessed; assuming the default recipe's`,
    );
  }
  return { model: loaded.model, preprocessing: recorded ?? RECIPES.default.preprocessing };
}
