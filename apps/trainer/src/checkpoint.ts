import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemHandler, writeFileAtomic } from '@lenet/node';
import { type LeNet5, loadWeights, saveWeights } from '@lenet/ops';
import type { OptimizerState } from '@lenet/ops/parallel';
import { crashPoint } from './crash-point';
import { CliError, describeError } from './errors';

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
const CHECKPOINT_NAME = /^epoch-\d+$/;
/** Checkpoint folder names in epoch order (numerically: epoch-1000 comes after epoch-999). */
const byEpoch = (a: string, b: string) => Number(a.slice(6)) - Number(b.slice(6));
const DAMAGED = 'the checkpoint is damaged: train without --resume to start over';
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
  crashPoint('checkpoint:staged');

  await saveWeights(model, fileSystemHandler(join(staging, 'model')), metadata);
  crashPoint('checkpoint:weights');
  await fileSystemHandler(join(staging, 'optimizer')).save({
    weightSpecs: optimizerState.specs,
    weightData: optimizerState.data,
  });
  crashPoint('checkpoint:optimizer');
  await writeFileAtomic(join(staging, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  crashPoint('checkpoint:state');

  const final = join(root, name);
  await rm(final, { recursive: true, force: true });
  await rename(staging, final);
  crashPoint('checkpoint:renamed');
  await writeFileAtomic(join(root, LATEST), `${JSON.stringify({ epoch: state.epoch, dir: name })}\n`);
  crashPoint('checkpoint:latest');
  await pruneCheckpoints(root, name);
  return final;
}

/** Keeps the newest few checkpoints: enough to survive one bad epoch, few enough not to fill a disk. */
async function pruneCheckpoints(root: string, newest: string): Promise<void> {
  const names = (await readdir(root)).filter((n) => CHECKPOINT_NAME.test(n)).sort(byEpoch);
  const old = names.filter((n) => n !== newest).slice(0, Math.max(0, names.length - KEEP));
  await Promise.all(old.map((n) => rm(join(root, n), { recursive: true, force: true })));
}

/** Loads the checkpoint that `dir/checkpoints/latest.json` points at, or says why it cannot. */
export async function loadCheckpoint(
  dir: string,
): Promise<{ model: LeNet5; optimizerState: OptimizerState; state: TrainingState; path: string }> {
  const root = join(dir, 'checkpoints');
  const path = join(root, await latestCheckpointName(root));
  const statePath = join(path, 'state.json');
  const state = checkState(await readJson(statePath, DAMAGED), statePath);
  const load = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      throw new CliError(`checkpoint ${path}: cannot read its ${what}: ${describeError(error)}`);
    }
  };
  const { model } = await load('weights', () => loadWeights(fileSystemHandler(join(path, 'model'))));
  try {
    const artifacts = await load('optimizer state', () => fileSystemHandler(join(path, 'optimizer')).load());
    if (!artifacts.weightSpecs || !(artifacts.weightData instanceof ArrayBuffer)) {
      throw new CliError(`checkpoint ${path} has no optimizer state; train without --resume`);
    }
    return {
      model,
      optimizerState: { specs: artifacts.weightSpecs, data: artifacts.weightData },
      state,
      path,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * The checkpoint folder `latest.json` names. Without a `latest.json` (a run stopped between renaming a
 * checkpoint into place and pointing at it), the newest `epoch-NNN` folder: a folder gets that name only
 * once it is complete.
 */
async function latestCheckpointName(root: string): Promise<string> {
  const latestPath = join(root, LATEST);
  if (!existsSync(latestPath)) {
    const complete = (await readdir(root).catch(() => [] as string[]))
      .filter((n) => CHECKPOINT_NAME.test(n))
      .sort(byEpoch);
    if (complete.length > 0) return complete[complete.length - 1]!;
  }
  const latest = await readJson(latestPath, 'train without --resume first');
  // latest.json names a folder beside it, nothing else: never a path that leads out of checkpoints/.
  const name = (latest as { dir?: unknown } | null)?.dir;
  if (typeof name !== 'string' || !CHECKPOINT_NAME.test(name)) {
    throw new CliError(
      `${latestPath} does not name a checkpoint folder (expected {"dir": "epoch-NNN"}, got ${JSON.stringify(latest)}); ` +
        'delete it to resume from nothing, or train without --resume',
    );
  }
  return name;
}

/** Parses a small JSON file of ours, with errors that name it. */
async function readJson(path: string, whatToDo: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`--resume: cannot read ${path} (${describeError(error)}); ${whatToDo}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`--resume: ${path} is not valid JSON (${(error as Error).message}); ${whatToDo}`);
  }
}

/** The fields of state.json a run reads, checked, so a damaged file fails here and not mid-run. */
function checkState(value: unknown, path: string): TrainingState {
  const state = value as Partial<TrainingState> | null;
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const ok =
    state != null &&
    typeof state === 'object' &&
    count(state.epoch) &&
    count(state.step) &&
    typeof state.elapsedSeconds === 'number' &&
    Number.isFinite(state.elapsedSeconds) &&
    typeof state.settings === 'object' &&
    state.settings !== null &&
    Array.isArray(state.history) &&
    state.history.length === state.epoch;
  if (!ok) {
    throw new CliError(
      `--resume: ${path} is not a checkpoint state written by 'lenet train' (it needs epoch, step, elapsedSeconds, ` +
        `settings and one history entry per epoch); ${DAMAGED}`,
    );
  }
  return state as TrainingState;
}
