/**
 * The campaigns of packages/ops/src/pytorch/fuzz.test.ts (same seeds and counts), in Chromium: real .pt zips,
 * their pickles and a real .safetensors header through the public readers.
 */
import {
  importPyTorchWeights,
  PyTorchFormatError,
  readSafetensors,
  readTorchCheckpoint,
  StateDictMismatchError,
} from '@lenet/ops/pytorch';
import * as tf from '@tensorflow/tfjs-core';
// Internal to @lenet/ops, as in its Node suite: the zip layer alone, and the CRC to re-zip a mutated pickle.
import { storedZip } from '../../../../packages/ops/src/pytorch/__fixtures__/stored-zip';
import { readZipEntries } from '../../../../packages/ops/src/pytorch/zip';
import { type Mutant, mutants } from '../../../../test-utils/fuzz';
import {
  type Campaign,
  casesOf,
  messageProblem,
  mutantsAfter,
  typed,
  untyped,
  type Verdict,
} from './campaign';
import type { FuzzInputs } from './protocol';

/** How many mutants of each kind each campaign tries. */
const COUNT = 300;

/**
 * Runs `read` on one mutant. It must return, or throw a PyTorchFormatError with a one-line message of a
 * sensible length that shows no undefined or NaN, or a StateDictMismatchError (one problem per line).
 */
async function judgePyTorch(read: () => void): Promise<Verdict> {
  try {
    read();
    return 'valid';
  } catch (error) {
    if (error instanceof StateDictMismatchError) {
      return typed(error, error.problems.length > 0 ? undefined : 'lists no problems');
    }
    if (!(error instanceof PyTorchFormatError)) return untyped(error);
    const { message } = error;
    return typed(
      error,
      messageProblem(message) ??
        (message.length <= 10 || message.length >= 1000
          ? `message of ${message.length} characters`
          : undefined) ??
        (/undefined|NaN|\[object /.test(message) ? 'message shows undefined, NaN or an object' : undefined),
    );
  }
}

/** The whole public path: detect, read, check names and shapes, build the model, then dispose it. */
async function importAndDispose(bytes: Uint8Array): Promise<Verdict> {
  const before = tf.memory().numTensors;
  const verdict = await judgePyTorch(() => importPyTorchWeights(bytes).model.dispose());
  const leaked = tf.memory().numTensors - before;
  if (leaked === 0) return verdict;
  return {
    name: 'leak',
    message: `${leaked} tensors left after the import`,
    problem: 'tensors not disposed',
  };
}

const readZip = (bytes: Uint8Array) => judgePyTorch(() => readZipEntries(bytes));
const readCheckpoint = (bytes: Uint8Array) => judgePyTorch(() => readTorchCheckpoint(bytes));
const readSafetensorsFile = (bytes: Uint8Array) => judgePyTorch(() => readSafetensors(bytes));

/** The offset of the central directory: the structure that the tail mutants hit. */
function centralDirectoryOffset(zip: Uint8Array): number {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  return view.getUint32(zip.length - 22 + 16, true);
}

/** Mutants of the checkpoint's data.pkl, each re-zipped with the checkpoint's other entries. */
function* rezippedPickles(
  checkpoint: Uint8Array,
  count: number,
  seed: number,
  focus?: number,
): Generator<Mutant> {
  const entries = readZipEntries(checkpoint);
  const pickleName = [...entries.keys()].find((name) => name.endsWith('/data.pkl'))!;
  for (const mutant of mutants(entries.get(pickleName)!, count, seed, focus)) {
    yield { ...mutant, bytes: storedZip(new Map([...entries, [pickleName, mutant.bytes]])) };
  }
}

export function pytorchCampaigns(inputs: FuzzInputs): Campaign[] {
  const seed = inputs['seed-lenet5.pt'];
  const safetensors = inputs['seed-lenet5.safetensors'];
  const headerEnd =
    8 + Number(new DataView(safetensors.buffer, safetensors.byteOffset).getBigUint64(0, true));
  const anywhere = (['seed-lenet5.pt', 'transposed.pt', 'int64-weights.pt', 'deflated.pt'] as const).map(
    (name): Campaign => ({
      name: `${name}, edited anywhere, through importPyTorchWeights`,
      expectsValid: false,
      cases: () => casesOf(mutants(inputs[name], COUNT, 11), importAndDispose),
    }),
  );
  return [
    ...anywhere,
    {
      name: 'seed-lenet5.pt local header and data.pkl, through importPyTorchWeights',
      expectsValid: false,
      cases: () => casesOf(mutants(seed, COUNT, 12, 1100), importAndDispose),
    },
    {
      name: 'seed-lenet5.pt central directory and end record, through the zip reader',
      expectsValid: false,
      cases: () => casesOf(mutantsAfter(seed, centralDirectoryOffset(seed), COUNT, 13), readZip),
    },
    {
      name: 'data.pkl edited anywhere, re-zipped, through readTorchCheckpoint',
      expectsValid: false,
      cases: () => casesOf(rezippedPickles(seed, COUNT, 21), readCheckpoint),
    },
    {
      name: 'data.pkl edited anywhere, re-zipped, through importPyTorchWeights',
      expectsValid: false,
      cases: () => casesOf(rezippedPickles(seed, COUNT, 21), importAndDispose),
    },
    {
      name: 'data.pkl first tensor records, re-zipped, through readTorchCheckpoint',
      expectsValid: false,
      cases: () => casesOf(rezippedPickles(seed, COUNT, 22, 260), readCheckpoint),
    },
    {
      name: '.safetensors length and JSON header, through readSafetensors',
      expectsValid: false,
      cases: () => casesOf(mutants(safetensors, COUNT, 31, headerEnd), readSafetensorsFile),
    },
    {
      name: '.safetensors length and JSON header, through importPyTorchWeights',
      expectsValid: false,
      cases: () => casesOf(mutants(safetensors, COUNT, 31, headerEnd), importAndDispose),
    },
    {
      name: '.safetensors length field alone, through readSafetensors',
      expectsValid: false,
      cases: () => casesOf(mutants(safetensors, COUNT, 32, 8), readSafetensorsFile),
    },
  ];
}
