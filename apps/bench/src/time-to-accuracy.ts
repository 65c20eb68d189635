import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PYTHON } from './pytorch';

const run = promisify(execFile);
const TRAINER = fileURLToPath(new URL('../../trainer/dist/cli.js', import.meta.url));
const SEED_RECIPE = fileURLToPath(new URL('../pytorch/seed_recipe_time.py', import.meta.url));

export interface TimeToAccuracy {
  /** Seconds of training and evaluation until the first epoch at or above the target; null if never. */
  seconds: number | null;
  epoch: number | null;
  finalAccuracy: number;
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
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** The seed's recipe in PyTorch (Debian python3-torch and python3-pil), until it reaches `target`. */
export async function pytorchSeedRecipeToAccuracy(
  idxDir: string,
  threads: number,
  target: number,
  maxEpochs = 15,
): Promise<TimeToAccuracy> {
  const { stdout } = await run(
    PYTHON,
    [SEED_RECIPE, idxDir, String(threads), String(maxEpochs), String(target)],
    {
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    },
  );
  const epochs = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { epoch: number; seconds: number; testAccuracy: number });
  const hit = epochs.find((e) => e.testAccuracy >= target);
  return {
    seconds: hit?.seconds ?? null,
    epoch: hit?.epoch ?? null,
    finalAccuracy: epochs[epochs.length - 1]!.testAccuracy,
  };
}
