import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
  /** Test accuracy after the last epoch run; null when no epoch finished. */
  finalAccuracy: number | null;
  /** Test accuracy after each epoch run. */
  accuracies: number[];
  /** Set when the run was stopped early: at the target (the rest of the recipe left out) or at the time cap. */
  stopped?: 'target' | 'time';
  /** `lenet train` on Linux: the process's peak resident memory (VmHWM), worker threads included, in MB. */
  peakRssMb?: number;
}

/** Options of {@link oursToAccuracy}; the defaults run `lenet train` as `pnpm train` does, to its last epoch. */
export interface OursToAccuracyOptions {
  /** More `lenet train` flags, e.g. `--backend webgpu --data DIR`. */
  args?: string[];
  /** Stop the run once an epoch reaches the target (the time to it is all that is wanted). */
  stopAtTarget?: boolean;
  /** Stop the run after this many seconds of wall time; what it finished counts. */
  timeoutSeconds?: number;
  /** Called with each epoch line the trainer prints. */
  onEpoch?: (line: string) => void;
}

interface EpochRecord {
  epoch: number;
  testAccuracy: number;
  elapsedSeconds: number;
}

async function readEpochs(out: string): Promise<EpochRecord[]> {
  const file = join(out, 'metrics.json');
  if (!existsSync(file)) return [];
  // Written atomically after every epoch (a rename), so a read never sees half a file.
  return (JSON.parse(await readFile(file, 'utf8')) as { epochs: EpochRecord[] }).epochs;
}

/** `lenet train` with its defaults (and `options.args`), until it first reaches `target`. */
export async function oursToAccuracy(
  target: number,
  options: OursToAccuracyOptions = {},
): Promise<TimeToAccuracy> {
  const out = await mkdtemp(join(tmpdir(), 'lenet-bench-train-'));
  try {
    const child = spawn(process.execPath, [TRAINER, 'train', '--out', out, ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (/^epoch \d+\/\d+:/.test(line)) options.onEpoch?.(line);
    });
    let stopped: TimeToAccuracy['stopped'];
    const stop = (why: 'target' | 'time') => {
      stopped ??= why;
      child.kill('SIGTERM');
    };
    const timer =
      options.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => stop('time'), options.timeoutSeconds * 1000);
    // The trainer writes metrics.json after every epoch: watch it to stop at the target.
    const watch = options.stopAtTarget
      ? setInterval(() => {
          readEpochs(out)
            .then((epochs) => {
              if (epochs.some((e) => e.testAccuracy >= target)) stop('target');
            })
            .catch(() => {});
        }, 250)
      : undefined;
    // The peak resident memory, read while it runs: gone from /proc once it exits.
    let peakRssMb: number | undefined;
    const sampleRss = () => {
      const kb = highWaterMarkKb(child.pid);
      if (kb !== undefined) peakRssMb = Math.max(peakRssMb ?? 0, kb / 1024);
    };
    const rssTimer = setInterval(sampleRss, 200);
    child.on('exit', sampleRss);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    clearInterval(watch);
    clearInterval(rssTimer);
    if (code !== 0 && stopped === undefined) {
      throw new Error(`lenet train exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
    }
    const result = summarise(await readEpochs(out), target, stopped);
    return peakRssMb === undefined ? result : { ...result, peakRssMb };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** VmHWM of process `pid` in kB, from /proc (Linux); undefined elsewhere or once it is gone. */
function highWaterMarkKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function summarise(
  epochs: { epoch: number; testAccuracy: number; seconds: number }[] | EpochRecord[],
  target: number,
  stopped: TimeToAccuracy['stopped'],
): TimeToAccuracy {
  const rows = epochs.map((e) => ({
    epoch: e.epoch,
    testAccuracy: e.testAccuracy,
    seconds: 'seconds' in e ? e.seconds : e.elapsedSeconds,
  }));
  const hit = rows.find((e) => e.testAccuracy >= target);
  return {
    seconds: hit?.seconds ?? null,
    epoch: hit?.epoch ?? null,
    finalAccuracy: rows[rows.length - 1]?.testAccuracy ?? null,
    accuracies: rows.map((e) => e.testAccuracy),
    ...(stopped ? { stopped } : {}),
  };
}

/** The seed's recipe in PyTorch (Debian python3-torch and python3-pil), until it reaches `target`. */
export function pytorchSeedRecipeToAccuracy(idxDir: string, threads: number, target: number, maxEpochs = 15) {
  return pytorchToAccuracy(SEED_RECIPE, idxDir, threads, target, maxEpochs);
}

/** Where and how the default recipe's PyTorch port runs: the GPU check runs it on CUDA with its own python3. */
export interface PytorchRecipeOptions {
  python?: string;
  /** A torch device, e.g. 'cuda' [cpu]. */
  device?: string;
  /** default_recipe_time.py's --limit, --test-limit and --epochs, for a quick run. */
  limit?: number;
  testLimit?: number;
  epochs?: number;
  /** Stop after this many seconds; the epochs it finished count. */
  timeoutSeconds?: number;
}

/** Our `default` recipe ported to PyTorch (see default_recipe_time.py), until it reaches `target`. */
export function pytorchDefaultRecipeToAccuracy(
  idxDir: string,
  threads: number,
  target: number,
  maxEpochs = 12,
  options: PytorchRecipeOptions = {},
) {
  const args = [
    ...(options.device ? ['--device', options.device] : []),
    ...(options.limit ? ['--limit', String(options.limit)] : []),
    ...(options.testLimit ? ['--test-limit', String(options.testLimit)] : []),
    ...(options.epochs ? ['--epochs', String(options.epochs)] : []),
  ];
  return pytorchToAccuracy(DEFAULT_RECIPE, idxDir, threads, target, maxEpochs, args, options);
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
  extraArgs: string[] = [],
  options: PytorchRecipeOptions = {},
): Promise<TimeToAccuracy> {
  const onCpu = (options.device ?? 'cpu') === 'cpu';
  let stdout: string;
  let stopped: TimeToAccuracy['stopped'];
  try {
    ({ stdout } = await run(
      options.python ?? PYTHON,
      [script, idxDir, String(threads), String(maxEpochs), String(target), ...extraArgs],
      {
        // The allocator matters to PyTorch on the CPU only (see pytorch.ts).
        env: onCpu ? pytorchEnvironment(findAllocator()) : process.env,
        ...(options.timeoutSeconds ? { timeout: options.timeoutSeconds * 1000 } : {}),
      },
    ));
  } catch (error) {
    const { killed, stdout: partial } = error as { killed?: boolean; stdout?: string };
    if (!killed || partial === undefined) throw error;
    stdout = partial; // stopped at the time cap: the epochs it printed count
    stopped = 'time';
  }
  const epochs = stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { epoch: number; seconds: number; testAccuracy: number });
  return summarise(epochs, target, stopped);
}
