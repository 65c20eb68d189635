import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { type BackendResult, fusedOverStock } from './measure';
import { childFailure, measureInChild } from './measure-child';
import { measurePytorch, type PytorchMode, type PytorchResult } from './pytorch';
import { oursToAccuracy, pytorchDefaultRecipeToAccuracy, type TimeToAccuracy } from './time-to-accuracy';

const HELP = `Usage: node apps/bench/dist/gpu-check.js --data DIR [options]

The GPU check (scripts/gpu-check.sh runs it from its bundle): on one machine, in one run,
  - training images/s at each --batches size and inference at --infer-batch, for ours on webgpu (fused: the
    kernels @lenet/kernels registers), stock tfjs-webgpu (those kernels unregistered), and PyTorch on --torch-device
    (eager; where they run, torch.compile and the whole step as CUDA graphs), the same model, batches and Adam;
  - the default recipe to --target test accuracy: \`lenet train --backend webgpu\` against its PyTorch port
    (apps/bench/pytorch/default_recipe_time.py) on the same device;
then the ratios, and one JSON file. Every step has a time cap and the whole check a budget: a step that fails or
runs out of time is reported as skipped, and the check goes on.

Options:
  --data DIR            the four MNIST IDX files, uncompressed (PyTorch reads them too)     [required]
  --json FILE           where to write the results                                          [gpu-check.json]
  --batches LIST        training batch sizes                                                 [128,512]
  --infer-batch N       inference batch size                                                 [1000]
  --runs N              timed runs per figure (median)                                       [3]
  --steps N             training steps per timed run at the smallest batch (half at others)  [30]
  --gpu-adapter NAME    ours on the Dawn adapter whose name contains NAME
  --python PATH         the interpreter with torch                                           [python3]
  --torch-device NAME   where PyTorch runs; cuda is skipped when torch has no CUDA           [cuda]
  --torch-modes LIST    eager,cudagraphs,compile (cudagraphs needs cuda; compile runs last)  [all three]
  --target X            the time-to-accuracy target                                          [0.99]
  --tta-limit N, --tta-test-limit N, --tta-epochs N
                        shrink the time-to-accuracy runs (both sides alike)                  [the recipe's]
  --skip-tta            leave the time-to-accuracy runs out
  --step-seconds S      cap on one measuring step (a backend, a PyTorch mode)                [150]
  --tta-seconds S       cap on each time-to-accuracy run                                     [120]
  --budget S            the whole check; steps past it are skipped                           [420]
`;

const run = promisify(execFile);
const PYTORCH_MODES: readonly PytorchMode[] = ['eager', 'cudagraphs', 'compile'];
const FRAMEWORK_SECONDS = 10; // what a step needs beyond its cap to report, at least

type Skipped = { skipped: string };
type Outcome<T> = T | Skipped;
const isSkipped = <T>(x: Outcome<T> | undefined): x is Skipped =>
  x !== undefined && typeof x === 'object' && x !== null && 'skipped' in x;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function positiveInts(flag: string, value: string): number[] {
  const list = value.split(',').map((part) => Number(part.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 60000))
    throw new Error(`${flag} takes whole numbers from 1 to 60000, comma-separated (got '${value}')`);
  return list;
}

/** nvidia-smi's one-line view of each GPU, or why there is none. */
async function nvidiaSmi(): Promise<string[] | Skipped> {
  try {
    const { stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
      { timeout: 30_000 },
    );
    return stdout.trim().split('\n');
  } catch (error) {
    return { skipped: `nvidia-smi: ${(error as Error).message.split('\n')[0]}` };
  }
}

interface TorchProbe {
  torch: string;
  python: string;
  cuda: boolean;
  /** torch.version.cuda, the CUDA torch was built with. */
  cudaVersion: string | null;
  deviceName: string | null;
}

const PROBE = [
  'import json, sys, torch',
  'cuda = torch.cuda.is_available()',
  'print(json.dumps({"torch": torch.__version__, "python": sys.version.split()[0], "cuda": cuda,',
  ' "cudaVersion": torch.version.cuda, "deviceName": torch.cuda.get_device_name(0) if cuda else None}))',
].join('\n');

async function probeTorch(python: string): Promise<TorchProbe | Skipped> {
  try {
    const { stdout } = await run(python, ['-c', PROBE], { timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as TorchProbe;
  } catch (error) {
    const last = childFailure(error);
    return { skipped: `${python} cannot import torch (${last})` };
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      json: { type: 'string' },
      batches: { type: 'string' },
      'infer-batch': { type: 'string' },
      runs: { type: 'string' },
      steps: { type: 'string' },
      'gpu-adapter': { type: 'string' },
      python: { type: 'string' },
      'torch-device': { type: 'string' },
      'torch-modes': { type: 'string' },
      target: { type: 'string' },
      'tta-limit': { type: 'string' },
      'tta-test-limit': { type: 'string' },
      'tta-epochs': { type: 'string' },
      'skip-tta': { type: 'boolean' },
      'step-seconds': { type: 'string' },
      'tta-seconds': { type: 'string' },
      budget: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  if (!values.data) throw new Error('--data DIR (the uncompressed MNIST IDX files) is required; see --help');
  const started = performance.now();
  const data = values.data;
  const trainBatches = positiveInts('--batches', values.batches ?? '128,512').sort((a, b) => a - b);
  const inferBatch = positiveInts('--infer-batch', values['infer-batch'] ?? '1000')[0]!;
  const runs = positiveInts('--runs', values.runs ?? '3')[0]!;
  const steps = positiveInts('--steps', values.steps ?? '30')[0]!;
  const python = values.python ?? 'python3';
  const torchDevice = values['torch-device'] ?? 'cuda';
  const modes = (values['torch-modes']?.split(',') ?? [...PYTORCH_MODES]) as PytorchMode[];
  for (const mode of modes)
    if (!PYTORCH_MODES.includes(mode)) throw new Error(`--torch-modes: unknown mode '${mode}'`);
  const target = Number(values.target ?? 0.99);
  const stepSeconds = Number(values['step-seconds'] ?? 150);
  const ttaSeconds = Number(values['tta-seconds'] ?? 120);
  const budget = Number(values.budget ?? 420);
  const gpuAdapter = values['gpu-adapter'];
  const tta = {
    limit: values['tta-limit'] ? positiveInts('--tta-limit', values['tta-limit'])[0] : undefined,
    testLimit: values['tta-test-limit']
      ? positiveInts('--tta-test-limit', values['tta-test-limit'])[0]
      : undefined,
    epochs: values['tta-epochs'] ? positiveInts('--tta-epochs', values['tta-epochs'])[0] : undefined,
  };

  const left = () => budget - (performance.now() - started) / 1000;
  /** Runs one step under its cap and what is left of the budget; a failure or no time left becomes the reason. */
  async function step<T>(
    name: string,
    cap: number,
    body: (seconds: number) => Promise<T>,
  ): Promise<Outcome<T>> {
    const seconds = Math.floor(Math.min(cap, left() - FRAMEWORK_SECONDS));
    if (seconds < FRAMEWORK_SECONDS) {
      console.log(`  ${name}: skipped: the check's ${budget} s budget is spent`);
      return { skipped: `not run: the check's ${budget} s budget was spent` };
    }
    const t0 = performance.now();
    try {
      const result = await body(seconds);
      console.log(`  ${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return result;
    } catch (error) {
      const reason = childFailure(error);
      console.log(`  ${name}: skipped: ${reason}`);
      return { skipped: reason };
    }
  }

  const gpus = await nvidiaSmi();
  console.log('== gpu-check: throughput (each step in a process of its own, capped)');
  const childOptions = { runs, steps, trainBatches, inferBatch, data, ...(gpuAdapter ? { gpuAdapter } : {}) };
  const fused = await step('ours, fused webgpu', stepSeconds, (timeoutSeconds) =>
    measureInChild('webgpu', { ...childOptions, timeoutSeconds }),
  );
  const stock = await step('stock tfjs-webgpu', stepSeconds, (timeoutSeconds) =>
    measureInChild('webgpu', { ...childOptions, stock: true, timeoutSeconds }),
  );

  const probe = await probeTorch(python);
  const torchMissing = isSkipped(probe)
    ? probe.skipped
    : torchDevice.startsWith('cuda') && !probe.cuda
      ? `torch ${probe.torch} (${python}) sees no CUDA device here`
      : undefined;
  const pytorch: Partial<Record<PytorchMode, Outcome<PytorchResult>>> = {};
  async function measureTorch(mode: PytorchMode) {
    if (torchMissing) {
      pytorch[mode] = { skipped: torchMissing };
      console.log(`  PyTorch ${mode}: skipped: ${torchMissing}`);
      return;
    }
    if (mode === 'cudagraphs' && !torchDevice.startsWith('cuda')) {
      pytorch[mode] = { skipped: 'CUDA graphs need a CUDA device' };
      console.log(`  PyTorch ${mode}: skipped: CUDA graphs need a CUDA device`);
      return;
    }
    // One intra-op thread on a GPU (its kernels are the work); every core on a CPU, PyTorch's default.
    const threads = torchDevice === 'cpu' ? availableParallelism() : 1;
    pytorch[mode] = await step(`PyTorch ${mode} (${torchDevice})`, stepSeconds, (timeoutSeconds) =>
      measurePytorch(data, threads, runs, steps, {
        python,
        device: torchDevice,
        trainBatches,
        inferBatch,
        mode,
        timeoutSeconds,
      }),
    );
  }

  // torch.compile compiles for minutes at worst: after the time to accuracy, with what is left of the budget.
  for (const mode of modes) if (mode !== 'compile') await measureTorch(mode);

  let timeToAccuracy: { ours: Outcome<TimeToAccuracy>; pytorch: Outcome<TimeToAccuracy> } | undefined;
  if (!values['skip-tta']) {
    console.log(`== gpu-check: the default recipe to ${(100 * target).toFixed(1)}% test accuracy`);
    const trainArgs = [
      ...['--backend', 'webgpu', '--data', data],
      ...(gpuAdapter ? ['--gpu-adapter', gpuAdapter] : []),
      ...(tta.limit ? ['--limit', String(tta.limit)] : []),
      ...(tta.testLimit ? ['--test-limit', String(tta.testLimit)] : []),
      ...(tta.epochs ? ['--epochs', String(tta.epochs)] : []),
    ];
    const ours = await step('ours: lenet train --backend webgpu', ttaSeconds, (timeoutSeconds) =>
      oursToAccuracy(target, {
        args: trainArgs,
        stopAtTarget: true,
        timeoutSeconds,
        onEpoch: (line) => console.log(`    ${line}`),
      }),
    );
    const theirs: Outcome<TimeToAccuracy> = torchMissing
      ? { skipped: torchMissing }
      : await step(`PyTorch port (${torchDevice})`, ttaSeconds, (timeoutSeconds) =>
          pytorchDefaultRecipeToAccuracy(
            data,
            torchDevice === 'cpu' ? availableParallelism() : 1,
            target,
            tta.epochs ?? 12,
            {
              python,
              device: torchDevice,
              ...tta,
              timeoutSeconds,
            },
          ),
        );
    if (torchMissing) console.log(`  PyTorch port: skipped: ${torchMissing}`);
    timeToAccuracy = { ours, pytorch: theirs };
  }

  if (modes.includes('compile')) await measureTorch('compile');

  const ratios = printSummary({ fused, stock, pytorch, timeToAccuracy, trainBatches, inferBatch, target });
  const file = values.json ?? join(process.env.OUT ?? '.', 'gpu-check.json');
  await mkdir(dirname(file), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    seconds: (performance.now() - started) / 1000,
    machine: {
      gpus,
      cpu: `${cpus()[0]?.model.trim() ?? 'unknown'} x ${availableParallelism()}`,
      node: process.version,
    },
    settings: { trainBatches, inferBatch, runs, steps, target, tta, torchDevice, python, budget },
    ours: { fused, stock },
    pytorch: { probe, ...pytorch },
    timeToAccuracy,
    ratios,
  };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

interface Summary {
  fused: Outcome<BackendResult>;
  stock: Outcome<BackendResult>;
  pytorch: Partial<Record<PytorchMode, Outcome<PytorchResult>>>;
  timeToAccuracy?: { ours: Outcome<TimeToAccuracy>; pytorch: Outcome<TimeToAccuracy> };
  trainBatches: number[];
  inferBatch: number;
  target: number;
}

/** The table of every side's figures, the ratios ours / each other side, and the times to accuracy. */
function printSummary(s: Summary) {
  const figures = [...s.trainBatches.map((b) => `train b${b}`), `infer b${s.inferBatch}`];
  const oursRate = (r: BackendResult, f: string) =>
    f.startsWith('train') ? r.trainImagesPerSecond[f.slice(7)]! : r.inferImagesPerSecond;
  const torchRate = (r: PytorchResult, f: string) =>
    f.startsWith('train') ? r.trainImagesPerSecond[f.slice(7)]! : r.inferImagesPerSecond;
  const rows: [string, Outcome<(f: string) => number>][] = [
    ['ours, fused webgpu', isSkipped(s.fused) ? s.fused : (f) => oursRate(s.fused as BackendResult, f)],
    ['stock tfjs-webgpu', isSkipped(s.stock) ? s.stock : (f) => oursRate(s.stock as BackendResult, f)],
    ...Object.entries(s.pytorch).map(([mode, r]): [string, Outcome<(f: string) => number>] => [
      `PyTorch ${mode}`,
      isSkipped(r) ? r : (f) => torchRate(r as PytorchResult, f),
    ]),
  ];
  console.log('\n== gpu-check: images/s');
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`${''.padEnd(width)}  ${figures.map((f) => f.padStart(12)).join('')}`);
  for (const [name, rate] of rows) {
    const cells = isSkipped(rate)
      ? `skipped: ${rate.skipped}`
      : figures.map((f) => fmt(rate(f)).padStart(12)).join('');
    console.log(`${name.padEnd(width)}  ${cells}`);
  }
  if (!isSkipped(s.fused)) console.log(`  ours: ${s.fused.device}; ${s.fused.method}`);
  if (!isSkipped(s.fused) && s.fused.kernels)
    console.log(
      `  fused kernels registered: ${s.fused.kernels.registered.join(', ') || 'none (both sides ran the stock kernels)'}`,
    );

  const ratios: Record<string, Record<string, number>> = {};
  if (!isSkipped(s.fused)) {
    const fused = s.fused;
    if (!isSkipped(s.stock)) ratios['fused/stock'] = fusedOverStock(fused, s.stock);
    for (const [mode, r] of Object.entries(s.pytorch)) {
      if (isSkipped(r) || r === undefined) continue;
      ratios[`fused/PyTorch ${mode}`] = Object.fromEntries(
        figures.map((f) => [f, oursRate(fused, f) / torchRate(r, f)]),
      );
    }
    const best = Object.fromEntries(
      figures.flatMap((f) => {
        const theirs = Object.values(s.pytorch).filter(
          (r): r is PytorchResult => !isSkipped(r) && r !== undefined,
        );
        return theirs.length
          ? [[f, oursRate(fused, f) / Math.max(...theirs.map((r) => torchRate(r, f)))]]
          : [];
      }),
    );
    if (Object.keys(best).length) ratios['fused/best PyTorch'] = best;
  }
  console.log('\n== gpu-check: ratios (above 1 ours is faster)');
  if (Object.keys(ratios).length === 0) console.log('  none: a side is missing');
  for (const [name, byFigure] of Object.entries(ratios))
    console.log(
      `  ${name.padEnd(24)} ${Object.entries(byFigure)
        .map(([f, r]) => `${f} ${r.toFixed(2)}`)
        .join(', ')}`,
    );

  if (s.timeToAccuracy) {
    const pct = `${(100 * s.target).toFixed(1)}%`;
    const at = (r: Outcome<TimeToAccuracy>) => {
      if (isSkipped(r)) return `skipped: ${r.skipped}`;
      const reached =
        r.seconds === null ? `${pct} not reached` : `${pct} at ${r.seconds.toFixed(1)} s (epoch ${r.epoch})`;
      const best = r.accuracies.length
        ? `best ${(100 * Math.max(...r.accuracies)).toFixed(2)}% in ${r.accuracies.length} epoch(s)`
        : 'no epoch finished';
      const stopped =
        r.stopped === 'time' ? ', stopped at its time cap' : r.stopped === 'target' ? ', stopped there' : '';
      return `${reached}; ${best}${stopped}`;
    };
    const { ours, pytorch } = s.timeToAccuracy;
    console.log(
      `\n== gpu-check: the default recipe to ${pct} (training + evaluation, data preparation excluded)`,
    );
    console.log(`  ours (lenet train --backend webgpu): ${at(ours)}`);
    console.log(`  PyTorch port (same recipe):         ${at(pytorch)}`);
    if (!isSkipped(ours) && !isSkipped(pytorch) && ours.seconds !== null && pytorch.seconds !== null) {
      ratios['time to accuracy, PyTorch s / ours s'] = { [pct]: pytorch.seconds / ours.seconds };
      console.log(
        `  PyTorch seconds / ours: ${(pytorch.seconds / ours.seconds).toFixed(2)} (above 1 ours is faster)`,
      );
    }
  }
  return ratios;
}

main().catch((error: unknown) => {
  console.error(`gpu-check: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
