import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Preprocessing } from '@lenet/data';
import { RECIPES } from '@lenet/data';
import { fileSystemHandler } from '@lenet/node';
import {
  describeNonFiniteWeights,
  findNonFiniteWeights,
  type LeNet5,
  loadWeights,
  type NonFiniteWeight,
  NonFiniteWeightsError,
  WeightsFormatError,
} from '@lenet/ops';
import { importPyTorchWeights, type PyTorchFileFormat } from '@lenet/ops/pytorch';
import { CliError, describeError } from './errors';

/** Where `train` leaves its final weights, and where `eval` and `predict` look by default. */
export const DEFAULT_WEIGHTS_DIR = join('runs', 'lenet5', 'model');

/** File extensions read as the seed's PyTorch weights instead of a TF.js weights directory. */
export const PYTORCH_WEIGHTS_EXTENSIONS = ['.pt', '.pth', '.safetensors'];

/** Whether `path` names PyTorch weights (.pt, .pth, .safetensors) rather than a TF.js weights directory. */
export function isPyTorchWeightsPath(path: string): boolean {
  return PYTORCH_WEIGHTS_EXTENSIONS.includes(extname(path).toLowerCase());
}

/**
 * Reads the seed's PyTorch weights (torch.save(state_dict) .pt/.pth, or .safetensors) into a model, with the
 * preprocessing the file records (the seed's Resize((32,32)) + ToTensor when it records none).
 */
export async function loadPyTorchModel(
  path: string,
): Promise<{ model: LeNet5; preprocessing: Preprocessing; format: PyTorchFileFormat }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw new CliError(`cannot read PyTorch weights ${path}: ${describeError(error)}`);
  }
  try {
    const { model, preprocessing, format } = importPyTorchWeights(bytes);
    return { model, preprocessing, format };
  } catch (error) {
    throw new CliError(`cannot import PyTorch weights from ${path}: ${describeError(error)}`);
  }
}

/** The help line of the flag that lets `eval`, `predict` and `export` use weights holding NaN or Infinity. */
export const ALLOW_NON_FINITE_HELP =
  'load weights that hold NaN or Infinity (refused otherwise), with a warning';

/** Options of {@link loadTrainedModel}. */
export interface LoadTrainedModelOptions {
  /** Load weights that hold NaN or ±Infinity, with a loud warning, instead of refusing them (--allow-non-finite). */
  allowNonFinite?: boolean;
}

/**
 * Loads trained weights and the preprocessing they were trained with (recorded by `train` or `import`):
 * a TF.js weights directory, or the seed's PyTorch weights file (see {@link isPyTorchWeightsPath}).
 * Weights that hold NaN or ±Infinity are refused in one line naming them, unless `allowNonFinite` is set.
 */
export async function loadTrainedModel(
  dir: string,
  options: LoadTrainedModelOptions = {},
): Promise<{ model: LeNet5; preprocessing: Preprocessing }> {
  const allowNonFinite = options.allowNonFinite === true;
  if (isPyTorchWeightsPath(dir)) {
    const loaded = await loadPyTorchModel(dir);
    const nonFinite = await findNonFiniteWeights(loaded.model.params);
    if (nonFinite.length > 0 && !allowNonFinite) {
      loaded.model.dispose();
      throw nonFiniteError(dir, nonFinite);
    }
    warnIfNonFinite(dir, nonFinite);
    return loaded;
  }
  let loaded: Awaited<ReturnType<typeof loadWeights>>;
  try {
    loaded = await loadWeights(fileSystemHandler(dir), { allowNonFinite });
  } catch (error) {
    if (error instanceof NonFiniteWeightsError) throw nonFiniteError(dir, error.weights);
    // The CLI's errors are one line; the format error lists its problems on lines of their own.
    // The loaders' own messages say what to do; a format error only lists what is wrong.
    const reason =
      error instanceof WeightsFormatError
        ? `${error.problems.join('; ')}; load weights that 'lenet train' or 'lenet import' wrote`
        : describeError(error).replace(/\.$/, '');
    throw new CliError(`cannot load weights from ${dir}: ${reason}`);
  }
  warnIfNonFinite(dir, loaded.nonFinite);
  const recorded = loaded.metadata.preprocessing as Preprocessing | undefined;
  if (!recorded) {
    console.warn(
      `warning: ${dir} does not say how its inputs were preprocessed; assuming the default recipe's`,
    );
  }
  return { model: loaded.model, preprocessing: recorded ?? RECIPES.default.preprocessing };
}

function nonFiniteError(dir: string, weights: readonly NonFiniteWeight[]): CliError {
  return new CliError(
    `cannot load weights from ${dir}: ${describeNonFiniteWeights(weights)}, so every result would be ` +
      'meaningless. Retrain (a diverged run writes such weights), or pass --allow-non-finite to use them anyway',
  );
}

function warnIfNonFinite(dir: string, weights: readonly NonFiniteWeight[]): void {
  if (weights.length === 0) return;
  console.warn(
    `WARNING: ${dir} holds weights that are not finite numbers: ${describeNonFiniteWeights(weights)}. ` +
      '--allow-non-finite loads them, but every accuracy, probability and export computed from them is meaningless',
  );
}
