import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemHandler, writeFileAtomic } from '@lenet/node';
import { type LeNet5, loadWeights, type OptimizerState, saveWeights } from '@lenet/ops';
import { CliError } from './errors';

/** What a run needs, beside the weights and the optimizer's state, to go on where it stopped. */
export interface TrainingState {
  /** Epochs finished. */
  epoch: number;
  /** Optimizer steps taken, for the learning-rate schedule. */
  step: number;
  elapsedSeconds: number;
  /** The run's settings, so `--resume` can refuse to mix two different runs. */
  settings: Record<string, unknown>;
  history: unknown[];
}

const LATEST = 'latest.json';
const KEEP = 2;

/**
 * Writes a checkpoint of epoch `state.epoch` under `dir/checkpoints/epoch-NNN` and then points
 * `latest.json` at it. Everything is written into a temporary folder first and renamed into place,
 * so a crash at any moment leaves the previous checkpoint whole and `latest.json` pointing at it.
 */
export async function saveCheckpoint(
  dir: string,
  model: LeNet5,
  optimizerState: OptimizerState,
  state: TrainingState,
  metadata: Record<string, unknown>,
): Promise<string> {
  const root = join(dir, 'checkpoints');
  const name = `epoch-${String(state.epoch).padStart(3, '0')}`;
  const staging = join(root, `.${name}.tmp-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });

  await saveWeights(model, fileSystemHandler(join(staging, 'model')), metadata);
  await fileSystemHandler(join(staging, 'optimizer')).save({
    weightSpecs: optimizerState.specs,
    weightData: optimizerState.data,
  });
  await writeFileAtomic(join(staging, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);

  const final = join(root, name);
  await rm(final, { recursive: true, force: true });
  await rename(staging, final);
  await writeFileAtomic(join(root, LATEST), `${JSON.stringify({ epoch: state.epoch, dir: name })}\n`);
  await pruneCheckpoints(root, name);
  return final;
}

/** Keeps the newest few checkpoints: enough to survive one bad epoch, few enough not to fill a disk. */
async function pruneCheckpoints(root: string, newest: string): Promise<void> {
  const names = (await readdir(root)).filter((n) => /^epoch-\d+$/.test(n)).sort();
  const old = names.filter((n) => n !== newest).slice(0, Math.max(0, names.length - KEEP));
  await Promise.all(old.map((n) => rm(join(root, n), { recursive: true, force: true })));
}

/** Loads the checkpoint that `dir/checkpoints/latest.json` points at, or says why it cannot. */
export async function loadCheckpoint(
  dir: string,
): Promise<{ model: LeNet5; optimizerState: OptimizerState; state: TrainingState; path: string }> {
  const root = join(dir, 'checkpoints');
  let latest: { dir: string };
  try {
    latest = JSON.parse(await readFile(join(root, LATEST), 'utf8'));
  } catch {
    throw new CliError(
      `--resume: no checkpoint in ${root} (${LATEST} is missing or unreadable); train without --resume first`,
    );
  }
  const path = join(root, latest.dir);
  const state = JSON.parse(await readFile(join(path, 'state.json'), 'utf8')) as TrainingState;
  const { model } = await loadWeights(fileSystemHandler(join(path, 'model')));
  const artifacts = await fileSystemHandler(join(path, 'optimizer')).load();
  if (!artifacts.weightSpecs || !(artifacts.weightData instanceof ArrayBuffer)) {
    model.dispose();
    throw new CliError(`checkpoint ${path} has no optimizer state; train without --resume`);
  }
  return { model, optimizerState: { specs: artifacts.weightSpecs, data: artifacts.weightData }, state, path };
}
