import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Preprocessing } from '@lenet/data';
import { fileSystemHandler } from '@lenet/node';
import { importPyTorchWeights, type LeNet5, loadWeights, type PyTorchFileFormat } from '@lenet/ops';
import { CliError, describeError } from './errors';
import { RECIPES } from './recipe';

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

/**
 * Loads trained weights and the preprocessing they were trained with (recorded by `train` or `import`):
 * a TF.js weights directory, or the seed's PyTorch weights file (see {@link isPyTorchWeightsPath}).
 */
export async function loadTrainedModel(
  dir: string,
): Promise<{ model: LeNet5; preprocessing: Preprocessing }> {
  if (isPyTorchWeightsPath(dir)) return loadPyTorchModel(dir);
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
