/**
 * The training page (tests and bench only): LeNet-5 trained on real MNIST in the page, on the wasm backend as
 * @lenet/web sets it up (the bench: on any backend setupBackend can start), with what the Node side checks or
 * prints (losses, tensor counts, kernels, accuracy, images per second) handed over through window.lenetTraining.
 */
import {
  type BatchOptions,
  batchArrays,
  batches,
  checkMnistSplit,
  DEFAULT_PREPROCESSING,
  type PreparedSplit,
  parseIdxImages,
  parseIdxLabels,
  preprocessImages,
} from '@lenet/data';
import { registerKernels } from '@lenet/kernels';
import { createOptimizer, LeNet5, PARAM_NAMES, trainStep } from '@lenet/ops';
import { ParallelCoordinator, unflattenWeights } from '@lenet/ops/parallel';
import { type BackendChoice, type BrowserBackend, setupBackend } from '@lenet/web';
import { webWorkerChannels } from '@lenet/web/workers';
import * as tf from '@tensorflow/tfjs-core';
import type {
  BenchOptions,
  BenchReport,
  BenchUnavailable,
  FigurePlan,
  InputName,
  ParallelTrainingReport,
  SetupReport,
  TrainingPage,
  TrainingReport,
  TrainOptions,
} from './protocol';

/** Where the page serves tfjs-backend-wasm's binaries, for itself and its workers. */
const WASM_PATHS = new URL('tfjs-wasm/', window.location.href).href;

async function fetchInput(name: InputName): Promise<Uint8Array> {
  const response = await fetch(new URL(`inputs/${name}`, window.location.href));
  if (!response.ok) throw new Error(`inputs/${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadSplit(images: InputName, labels: InputName): Promise<PreparedSplit> {
  const split = checkMnistSplit(
    parseIdxImages(await fetchInput(images), images),
    parseIdxLabels(await fetchInput(labels), labels),
    images,
  );
  return {
    count: split.count,
    inputs: preprocessImages(split.images, split.count, DEFAULT_PREPROCESSING),
    labels: split.labels,
  };
}

let data: Promise<{ train: PreparedSplit; test: PreparedSplit }> | undefined;

/** The served splits, fetched and preprocessed once per page. */
function mnist() {
  data ??= (async () => ({
    train: await loadSplit('train-images.idx', 'train-labels.idx'),
    test: await loadSplit('test-images.idx', 'test-labels.idx'),
  }))();
  return data;
}

/**
 * The first `steps` batches, epoch after epoch of the split shuffled with `seed`. `epochOf` is `batches`
 * (tensors, the generator's own) or `batchArrays` (plain arrays, for workers): the same batches either way.
 */
function* trainingBatches<T>(
  epochOf: (split: PreparedSplit, options: BatchOptions) => Iterable<T>,
  split: PreparedSplit,
  { batchSize, seed, steps }: TrainOptions,
): Generator<T> {
  let step = 0;
  for (let epoch = 0; ; epoch++) {
    for (const batch of epochOf(split, { batchSize, shuffle: true, seed, epoch, dropLast: true })) {
      if (step++ === steps) return;
      yield batch;
    }
  }
}

/** Fraction of the first `count` images of `split` that `model` labels right, in batches of 1000. */
async function accuracyOf(model: LeNet5, split: PreparedSplit, count: number): Promise<number> {
  let right = 0;
  for (let start = 0; start < count; start += 1000) {
    const size = Math.min(1000, count - start);
    const predicted = tf.tidy(() =>
      tf.argMax(
        model.predict(
          tf.tensor4d(split.inputs.subarray(start * 1024, (start + size) * 1024), [size, 32, 32, 1]),
        ),
        1,
      ),
    );
    const labels = await predicted.data();
    predicted.dispose();
    for (let i = 0; i < size; i++) if (labels[i] === split.labels[start + i]) right++;
  }
  return right / count;
}

async function flatWeightsOf(model: LeNet5): Promise<number[]> {
  const weights = model.getWeights();
  const flat: number[] = [];
  for (const name of PARAM_NAMES) flat.push(...(await weights[name].data()));
  tf.dispose(Object.values(weights));
  return flat;
}

/** The kernels tf.profile sees while `run` runs, in order. */
async function kernelsOf(run: () => Promise<unknown>): Promise<string[]> {
  const info = await tf.profile(async () => {
    await run();
  });
  return info.kernels.map((kernel) => kernel.name);
}

const choices = new Map<BrowserBackend, Promise<BackendChoice>>();

/** setupBackend({ backend }) once per page (it also registers our kernels for that backend). */
function useBackend(backend: BrowserBackend): Promise<BackendChoice> {
  let choice = choices.get(backend);
  if (choice === undefined) {
    choice = setupBackend({ backend, wasmPaths: WASM_PATHS });
    choices.set(backend, choice);
  }
  return choice;
}

async function setup(): Promise<SetupReport> {
  await useBackend('wasm');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const registered = registerKernels();
  const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
  return {
    backend: tf.getBackend(),
    kernels: registered.kernels,
    simdSkipped: registered.simdSkipped,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    wasmThreads: wasm.getThreadsCount(),
    sharedHeap: typeof SharedArrayBuffer === 'function' && heap instanceof SharedArrayBuffer,
    wasmSimdSupported: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    wasmThreadsSupported: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
  };
}

async function train(options: TrainOptions): Promise<TrainingReport> {
  const { batchSize, seed, testCount } = options;
  const { train: trainSplit, test } = await mnist();
  const tensorsAtStart = tf.memory().numTensors;
  const model = LeNet5.create({ seed });
  const optimizer = createOptimizer('adam', 1e-3);
  const losses: number[] = [];
  const tensorsBefore: number[] = [];
  const tensorsAfter: number[] = [];
  const started = performance.now();
  for (const batch of trainingBatches(batches, trainSplit, options)) {
    tensorsBefore.push(tf.memory().numTensors);
    losses.push(await trainStep(model, optimizer, batch.x, batch.y));
    tensorsAfter.push(tf.memory().numTensors);
  }
  const milliseconds = performance.now() - started;
  const accuracy = await accuracyOf(model, test, testCount);
  const weights = await flatWeightsOf(model);

  // One more step and one predict under tf.profile, on a batch of their own (the trained weights are read above).
  const x = tf.tensor4d(trainSplit.inputs.subarray(0, batchSize * 1024), [batchSize, 32, 32, 1]);
  const y = tf.tensor1d(Int32Array.from(trainSplit.labels.subarray(0, batchSize)), 'int32');
  const stepKernels = await kernelsOf(() => trainStep(model, optimizer, x, y));
  const predictKernels = await kernelsOf(async () => {
    const probabilities = model.predict(x);
    await probabilities.data();
    probabilities.dispose();
  });
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return {
    losses,
    tensorsBefore,
    tensorsAfter,
    accuracy,
    weights,
    stepKernels,
    predictKernels,
    tensorsAtStart,
    tensorsAtEnd: tf.memory().numTensors,
    milliseconds,
  };
}

/** The same training as {@link train}, data-parallel: the coordinator on this page, one replica per Web Worker. */
async function trainParallel(options: TrainOptions & { workers: number }): Promise<ParallelTrainingReport> {
  const { seed, testCount, workers } = options;
  const { train: trainSplit, test } = await mnist();
  const channels = await webWorkerChannels({ workers, backend: 'wasm', wasmPaths: WASM_PATHS });
  const coordinator = await ParallelCoordinator.start(channels, {
    modelOptions: { seed },
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  const losses: number[] = [];
  let weights: Float32Array;
  const started = performance.now();
  try {
    for (const batch of trainingBatches(batchArrays, trainSplit, options))
      losses.push(await coordinator.step(batch.inputs, batch.labels, batch.size));
    weights = await coordinator.getWeights();
  } finally {
    await coordinator.close();
  }
  const milliseconds = performance.now() - started;
  const model = LeNet5.create({ seed });
  model.setWeights(unflattenWeights(weights));
  const accuracy = await accuracyOf(model, test, testCount);
  model.dispose();
  return { workers, losses, accuracy, weights: Array.from(weights), milliseconds };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A timed stretch of training steps. */
interface Timed {
  imagesPerSecond: number;
  steps: number;
  firstStepSeconds: number;
}

/**
 * Runs `untimed` steps, then times `steps` more of `batchSize` images each. `steps` may be a function of the
 * first timed step's seconds, which says how many timed steps to run in all (at least 1).
 */
async function timeSteps(
  step: () => Promise<unknown>,
  batchSize: number,
  untimed: number,
  steps: number | ((firstStepSeconds: number) => number),
): Promise<Timed> {
  for (let i = 0; i < untimed; i++) await step();
  const started = performance.now();
  await step();
  const firstStepSeconds = (performance.now() - started) / 1000;
  const total = Math.max(1, typeof steps === 'number' ? steps : steps(firstStepSeconds));
  for (let i = 1; i < total; i++) await step();
  return {
    imagesPerSecond: (total * batchSize) / ((performance.now() - started) / 1000),
    steps: total,
    firstStepSeconds,
  };
}

/** One real training step per call on the next batch of an epoch of `split`; `close` ends the epoch. */
function trainingSteps(
  model: LeNet5,
  optimizer: tf.Optimizer,
  split: PreparedSplit,
  batchSize: number,
  epoch: number,
) {
  const epochBatches = batches(split, { batchSize, shuffle: true, seed: 1, epoch, dropLast: true });
  return {
    async step() {
      const next = epochBatches.next();
      if (next.done) throw new Error(`the served images hold too few batches of ${batchSize}`);
      await trainStep(model, optimizer, next.value.x, next.value.y);
    },
    close: () => void epochBatches.return(undefined),
  };
}

/**
 * Images per second of real training steps after `untimed` ones (2 create the optimizer's slots), batch creation
 * included and the loss read back every step: apps/bench/src/measure.ts's trainRate. Uses `optimizer` where
 * given (and leaves it), else an Adam optimizer of its own.
 */
async function trainRate(
  model: LeNet5,
  split: PreparedSplit,
  batchSize: number,
  untimed: number,
  steps: number | ((firstStepSeconds: number) => number),
  epoch: number,
  optimizer?: tf.Optimizer,
): Promise<Timed> {
  const own = optimizer ?? createOptimizer('adam', 1e-3);
  const training = trainingSteps(model, own, split, batchSize, epoch);
  try {
    return await timeSteps(training.step, batchSize, untimed, steps);
  } finally {
    training.close();
    if (optimizer === undefined) own.dispose();
  }
}

/** Why this page's WebGL or WebGPU device is a software one, where it is. */
function softwareDevice(choice: BackendChoice, renderer: string | undefined): string | undefined {
  if (choice.adapter?.isFallbackAdapter) return 'a software fallback WebGPU adapter';
  const described = `${choice.device} ${renderer ?? ''}`;
  const match = /swiftshader|llvmpipe|softpipe|software|warp/i.exec(described);
  return match ? `a software renderer (${match[0]})` : undefined;
}

/** What WebGL renders on here (WEBGL_debug_renderer_info's unmasked renderer), from a canvas of its own. */
function webglRenderer(): string | undefined {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (gl === null) return undefined;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return renderer;
}

/**
 * The figures apps/bench measures in Node, on `backend` (set up here by setupBackend): training at batch 64 and
 * 256 on this page's thread and inference at batch 1000, or, with `workers`, training split across that many
 * Web Workers (apps/bench's parallelTrainRates: one coordinator per batch size, its first run a warm-up).
 *
 * The first timed step at batch 64 (after the usual 2 untimed ones) decides whether `steps` and `runs` fit in
 * `budgetSeconds`. Where they do not (a software GPU adapter, say), each figure is one run: at batch 64 up to
 * `shortSteps` timed steps; at batch 256 (on the same optimizer, its slots made) and for inference, the first
 * step or pass is a warm-up unless it is too slow for the budget (see shortFigure), and is the figure then,
 * kernel compilation included.
 */
async function bench(options: BenchOptions): Promise<BenchReport | BenchUnavailable> {
  const { backend, steps, runs, workers, budgetSeconds, shortSteps } = options;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let choice: BackendChoice;
  try {
    choice = await useBackend(backend);
  } catch (error) {
    return { backend, workers, unavailable: (error as Error).message };
  }
  const renderer = backend === 'webgl' ? webglRenderer() : undefined;
  const { train: split } = await mnist();
  const steps256 = Math.max(2, Math.round(steps / 2));
  // The full plan, in steps at batch 64 (a step at 256 costs about 4, a forward pass of 1000 about 5).
  const fullPlan =
    workers > 0
      ? (runs + 1) * (steps + 2) + 4 * (runs + 1) * (steps256 + 2)
      : 4 + runs * (steps + 2) + 4 * (4 + runs * (steps256 + 2)) + 5 * (runs + 1);
  let shortened = false;
  let firstStepSeconds = 0;
  /** Timed steps (or passes) in all for a short figure whose first took `first` seconds: what the time left allows. */
  const fitting = (first: number, most: number) =>
    Math.max(1, Math.min(most, 1 + Math.floor((budgetSeconds - elapsed()) / first)));
  /** At batch 64, after the first timed step: the timed steps in all, for the full plan or a short one. */
  const decide = (full: number) => (first: number) => {
    firstStepSeconds = first;
    shortened = elapsed() + first * (fullPlan - 3) > budgetSeconds;
    return shortened ? fitting(first, shortSteps) : full;
  };
  /**
   * A short plan's figure: `run` once, timed. Where that took at most a quarter of the budget, or the time left
   * has room for it twice, it was the warm-up and up to `most` more are timed (at least one); otherwise it is
   * the figure (on WebGPU, whose shaders take shapes as uniforms, a first pass costs about what a later one does).
   */
  const shortFigure = async (run: () => Promise<unknown>, images: number, most: number) => {
    let begun = performance.now();
    await run();
    let seconds = (performance.now() - begun) / 1000;
    const warmUp = seconds <= budgetSeconds / 4 || budgetSeconds - elapsed() >= 2 * seconds;
    let count = 1;
    if (warmUp) {
      count = fitting(seconds, most);
      begun = performance.now();
      for (let i = 0; i < count; i++) await run();
      seconds = (performance.now() - begun) / 1000;
    }
    return { imagesPerSecond: (count * images) / seconds, plan: { steps: count, runs: 1, warmUp } };
  };

  const trainImagesPerSecond: Record<string, number> = {};
  const plans: Record<string, FigurePlan> = {};
  let inferImagesPerSecond: number | undefined;

  if (workers > 0) {
    for (const batchSize of [64, 256]) {
      const channels = await webWorkerChannels({ workers, backend, wasmPaths: WASM_PATHS });
      const coordinator = await ParallelCoordinator.start(channels, {
        modelOptions: { seed: 1 },
        optimizer: { name: 'adam', learningRate: 1e-3 },
      });
      let offset = 0;
      const step = async () => {
        const start = (offset++ * batchSize) % (split.count - batchSize);
        await coordinator.step(
          split.inputs.subarray(start * 1024, (start + batchSize) * 1024),
          split.labels.subarray(start, start + batchSize),
          batchSize,
        );
      };
      const timedSteps = batchSize === 64 ? steps : steps256;
      try {
        if (batchSize === 256 && shortened) {
          // A fresh coordinator: its first step makes Adam's slots, so it never counts.
          await step();
          const figure = await shortFigure(step, batchSize, shortSteps);
          trainImagesPerSecond[batchSize] = figure.imagesPerSecond;
          plans[batchSize] = figure.plan;
          continue;
        }
        // Run 0 warms up; at batch 64 its first timed step decides the plan, and a short plan keeps it.
        const warm = await timeSteps(step, batchSize, 2, batchSize === 64 ? decide(timedSteps) : timedSteps);
        if (shortened) {
          trainImagesPerSecond[batchSize] = warm.imagesPerSecond;
          plans[batchSize] = { steps: warm.steps, runs: 1, warmUp: true };
          continue;
        }
        const rates: number[] = [];
        for (let run = 1; run <= runs; run++)
          rates.push((await timeSteps(step, batchSize, 2, timedSteps)).imagesPerSecond);
        trainImagesPerSecond[batchSize] = median(rates);
        plans[batchSize] = { steps: timedSteps, runs, warmUp: true };
      } finally {
        await coordinator.close();
      }
    }
  } else {
    const model = LeNet5.create({ seed: 1 });
    const optimizer = createOptimizer('adam', 1e-3);
    try {
      // The warm-up at batch 64 (kernels compiled, memory pools grown, as apps/bench warms up); its first timed
      // step decides the plan, and a short plan keeps it as the figure.
      const warm = await trainRate(model, split, 64, 2, decide(2), 0, optimizer);
      if (shortened) {
        trainImagesPerSecond[64] = warm.imagesPerSecond;
        plans[64] = { steps: warm.steps, runs: 1, warmUp: true };
        const training = trainingSteps(model, optimizer, split, 256, 0);
        try {
          const figure = await shortFigure(training.step, 256, shortSteps);
          trainImagesPerSecond[256] = figure.imagesPerSecond;
          plans[256] = figure.plan;
        } finally {
          training.close();
        }
      } else {
        for (const batchSize of [64, 256]) {
          const timedSteps = batchSize === 64 ? steps : steps256;
          if (batchSize === 256) await trainRate(model, split, batchSize, 2, 2, 0);
          const rates: number[] = [];
          for (let run = 1; run <= runs; run++)
            rates.push((await trainRate(model, split, batchSize, 2, timedSteps, run)).imagesPerSecond);
          trainImagesPerSecond[batchSize] = median(rates);
          plans[batchSize] = { steps: timedSteps, runs, warmUp: true };
        }
      }
      const x = tf.tensor4d(split.inputs.subarray(0, 1000 * 1024), [1000, 32, 32, 1]);
      const infer = async () => {
        const probabilities = model.predict(x);
        await probabilities.data();
        probabilities.dispose();
      };
      try {
        if (shortened) {
          const figure = await shortFigure(infer, 1000, runs);
          inferImagesPerSecond = figure.imagesPerSecond;
          plans.infer = figure.plan;
        } else {
          await infer();
          const rates: number[] = [];
          for (let run = 0; run < runs; run++)
            rates.push((await timeSteps(infer, 1000, 0, 1)).imagesPerSecond);
          inferImagesPerSecond = median(rates);
          plans.infer = { steps: 1, runs, warmUp: true };
        }
      } finally {
        x.dispose();
      }
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  }
  const software = softwareDevice(choice, renderer);
  return {
    backend: tf.getBackend(),
    device: renderer ? `${choice.device} (${renderer})` : choice.device,
    ...(software ? { software } : {}),
    workers,
    trainImagesPerSecond,
    ...(inferImagesPerSecond !== undefined ? { inferImagesPerSecond } : {}),
    plans,
    firstStepSeconds,
    shortened,
    seconds: elapsed(),
  };
}

const page: TrainingPage = { setup, train, trainParallel, bench };
window.lenetTraining = page;
