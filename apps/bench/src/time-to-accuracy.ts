import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findAllocator, PYTHON, pytorchEnvironment } from './pytorch';

const run = promisify(execFile);
const TRAINER = fileURLToPath(new URL('../../trainer/dist/cli.js', import.meta.url));
const SEED_RECIPE = fileURLToPath(new URL('../pytorch/seed_recipe_time.py', import.meta.url));
const DEFAULT_RECIPE = fileURLToPath(new URL('../pytorch/default_recipe_time.py', import.meta.url));

// Both sides time the same thing. `lenet train` starts its clock once the data is loaded and preprocessed and
// the worker threads are up, and reads it after each epoch's test-set evaluation: training (with the batches'
// augmentation) and evaluation count, data preparation does not. Its clock also covers the small checkpoint it
// writes after each epoch, which the PyTorch scripts skip. The PyTorch scripts start their clock once the whole
// dataset is prepared as tensors and the model built, and read it after each epoch's evaluation.

export interface TimeToAccuracy {
  /** Seconds of training and evaluation until the first epoch at or above the target; null if never. */
  seconds: number | null;
  epoch: number | null;
  /** Test accuracy after the last epoch run. */
  finalAccuracy: number;
  /** Test accuracy after each epoch run. */
  accuracies: number[];
}

/** `lenet train` with its defaults, until it first reaches `target` (the run goes on to its last epoch). */
export async function oursToAccuracy(target: number): Promise<TimeToAccuracy> {
  const out = await mkdtemp(join(tmpdir(), 'lenet-bench-train-'));
  try {
    await run(process.execPath, [TRAINER, 'train', '--out', out], { maxBuffer: 64 << 20 });
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as {
      epochs: { epoch: number; testAccuracy: number; elapsedSeconds: number }[];
    };
    const hit = metrics.epochs.find((m) => m.testAccuracy >= target);
    return {
      seconds: hit?.elapsedSeconds ?? null,
      epoch: hit?.epoch ?? null,
      finalAccuracy: metrics.epochs[metrics.epochs.length - 1]!.testAccuracy,
      accuracies: metrics.epochs.map((m) => m.testAccuracy),
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** The seed's recipe in PyTorch (Debian python3-torch and python3-pil), until it reaches `target`. */
export function pytorchSeedRecipeToAccuracy(idxDir: string, threads: number, target: number, maxEpochs = 15) {
  return pytorchToAccuracy(SEED_RECIPE, idxDir, threads, target, maxEpochs);
}

/** Our `default` recipe ported to PyTorch (see default_recipe_time.py), until it reaches `target`. */
export function pytorchDefaultRecipeToAccuracy(
  idxDir: string,
  threads: number,
  target: number,
  maxEpochs = 12,
) {
  return pytorchToAccuracy(DEFAULT_RECIPE, idxDir, threads, target, maxEpochs);
}

/**
 * Runs one of the PyTorch recipe scripts, which print one JSON line per epoch and stop at `target`. They start
 * their clock once the data is prepared and the model built, as `lenet train` does, and count training
 * (augmentation included) and the test-set evaluation after every epoch.
 */
async function pytorchToAccuracy(
  script: string,
  idxDir: string,
  threads: number,
  target: number,
  maxEpochs: number,
): Promise<TimeToAccuracy> {
  const { stdout } = await run(PYTHON, [script, idxDir, String(threads), String(maxEpochs), String(target)], {
    env: pytorchEnvironment(findAllocator()),
  });
  const epochs = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { epoch: number; seconds: number; testAccuracy: number });
  const hit = epochs.find((e) => e.testAccuracy >= target);
  return {
    seconds: hit?.seconds ?? null,
    epoch: hit?.epoch ?? null,
    finalAccuracy: epochs[epochs.length - 1]!.testAccuracy,
    accuracies: epochs.map((e) => e.testAccuracy),
  };
}
