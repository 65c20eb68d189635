import * as tf from '@tensorflow/tfjs-core';
import {
  ACTIVATIONS,
  type Activation,
  LeNet5,
  PARAM_NAMES,
  type ParamName,
  POOLINGS,
  type Pooling,
} from '../model';
import { quoteName } from './describe-untrusted';
import { PyTorchFormatError } from './errors';
import { leNetToStateDict, stateDictToLeNet } from './lenet5-state-dict';
import { readSafetensors, writeSafetensors } from './safetensors';
import { readTorchCheckpoint } from './torch-checkpoint';

/**
 * How raw 28x28 MNIST bytes become the model's 32x32 input; the same shape as `Preprocessing` of
 * `@lenet/data`. `resize: 'bilinear'` is torchvision's `Resize((32, 32))`, `'pad'` a 2-pixel border;
 * `normalize: null` keeps ToTensor's [0, 1].
 */
export interface WeightsPreprocessing {
  resize: 'pad' | 'bilinear';
  normalize: { mean: number; std: number } | null;
}

/** What the seed's PyTorch code feeds its model: `Resize((32, 32))` + `ToTensor()`, no normalisation. */
export const SEED_PREPROCESSING: Readonly<WeightsPreprocessing> = Object.freeze({
  resize: 'bilinear',
  normalize: null,
});

/** The two file formats {@link importPyTorchWeights} reads. */
export type PyTorchFileFormat = 'pt' | 'safetensors';

/** Keys of the safetensors `__metadata__` that {@link exportSafetensors} writes and {@link importPyTorchWeights} reads. */
export const SAFETENSORS_METADATA_KEYS = {
  preprocessing: 'lenet5.preprocessing',
  activation: 'lenet5.activation',
  pooling: 'lenet5.pooling',
} as const;

/** A model built from PyTorch weights, and what the file says about them. */
export interface ImportedPyTorchWeights {
  model: LeNet5;
  format: PyTorchFileFormat;
  /** What inputs the weights expect: recorded in the file by {@link exportSafetensors}, else the seed's. */
  preprocessing: WeightsPreprocessing;
  /** The safetensors `__metadata__` (empty for .pt). */
  metadata: Record<string, string>;
}

/** Which format `bytes` are in, from their first bytes (a zip for .pt, a JSON header for .safetensors). */
export function detectPyTorchFormat(bytes: Uint8Array): PyTorchFileFormat {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return 'pt';
  if (bytes.length > 8 && bytes[8] === 0x7b) return 'safetensors'; // '{' after the 8-byte length
  if (bytes[0] === 0x80) return 'pt'; // legacy torch.save; readTorchCheckpoint explains
  throw new PyTorchFormatError(
    'these bytes are neither a PyTorch .pt (zip) nor a .safetensors file. ' +
      'Save the weights with torch.save(model.state_dict(), path) or safetensors.torch.save_file',
  );
}

/**
 * Builds LeNet-5 from the seed's PyTorch weights: a `.pt`/`.pth` written by
 * `torch.save(model.state_dict(), path)` or a `.safetensors` file. Layouts are converted
 * (conv OIHW -> HWIO, Linear `[out, in]` -> `[in, out]`); float32 values are copied bit for bit.
 * The file is untrusted input: the pickle of a .pt is read without executing anything.
 * @throws {@link PyTorchFormatError} when the file cannot be read, {@link StateDictMismatchError} listing
 * every missing, unexpected or wrong-shaped tensor. Either way no model is created.
 */
export function importPyTorchWeights(bytes: Uint8Array): ImportedPyTorchWeights {
  const format = detectPyTorchFormat(bytes);
  const { tensors, metadata } =
    format === 'pt' ? { tensors: readTorchCheckpoint(bytes), metadata: {} } : readSafetensors(bytes);
  const weights = stateDictToLeNet(tensors);
  const recorded = readRecordedOptions(metadata);
  const model = LeNet5.create({ activation: recorded.activation, pooling: recorded.pooling });
  try {
    model.setWeights(weights);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, format, preprocessing: recorded.preprocessing, metadata };
}

/**
 * The model's weights as a `.safetensors` file with the seed's PyTorch names and layouts (float32), so that
 * `model.load_state_dict(safetensors.torch.load_file(path))` loads them into the seed's `LeNet_5`.
 * `__metadata__` records `format: 'pt'` and the preprocessing, activation and pooling the weights expect.
 * The seed's model is tanh with average pooling: weights of another variant load but compute something else.
 */
export async function exportSafetensors(
  model: LeNet5,
  preprocessing: WeightsPreprocessing,
): Promise<Uint8Array> {
  const tensors = model.getWeights();
  const values = {} as Record<ParamName, Float32Array>;
  try {
    for (const name of PARAM_NAMES) values[name] = (await tensors[name].data()) as Float32Array;
  } finally {
    tf.dispose(tensors);
  }
  return writeSafetensors(leNetToStateDict(values), {
    format: 'pt',
    [SAFETENSORS_METADATA_KEYS.preprocessing]: JSON.stringify(preprocessing),
    [SAFETENSORS_METADATA_KEYS.activation]: model.activation,
    [SAFETENSORS_METADATA_KEYS.pooling]: model.pooling,
  });
}

/** The options our exporter records; the seed's when a key is absent. */
function readRecordedOptions(metadata: Record<string, string>): {
  preprocessing: WeightsPreprocessing;
  activation: Activation;
  pooling: Pooling;
} {
  const activation = (metadata[SAFETENSORS_METADATA_KEYS.activation] ?? 'tanh') as Activation;
  const pooling = (metadata[SAFETENSORS_METADATA_KEYS.pooling] ?? 'avg') as Pooling;
  if (!ACTIVATIONS.includes(activation)) {
    throw new PyTorchFormatError(
      `__metadata__ says activation ${quoteName(activation)}; expected one of ${ACTIVATIONS.join(', ')}`,
    );
  }
  if (!POOLINGS.includes(pooling)) {
    throw new PyTorchFormatError(
      `__metadata__ says pooling ${quoteName(pooling)}; expected one of ${POOLINGS.join(', ')}`,
    );
  }
  const text = metadata[SAFETENSORS_METADATA_KEYS.preprocessing];
  return {
    preprocessing: text === undefined ? { ...SEED_PREPROCESSING } : parsePreprocessing(text),
    activation,
    pooling,
  };
}

function parsePreprocessing(text: string): WeightsPreprocessing {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const p = value as WeightsPreprocessing | undefined;
  const normalizeOk =
    p?.normalize === null ||
    (typeof p?.normalize === 'object' && Number.isFinite(p.normalize.mean) && p.normalize.std > 0);
  if (!p || (p.resize !== 'pad' && p.resize !== 'bilinear') || !normalizeOk) {
    throw new PyTorchFormatError(
      `__metadata__['${SAFETENSORS_METADATA_KEYS.preprocessing}'] is ${quoteName(text)}, not ` +
        `{"resize":"pad"|"bilinear","normalize":null|{"mean":m,"std":s}}. Remove the key to assume the seed's preprocessing`,
    );
  }
  return {
    resize: p.resize,
    normalize: p.normalize === null ? null : { mean: p.normalize.mean, std: p.normalize.std },
  };
}
