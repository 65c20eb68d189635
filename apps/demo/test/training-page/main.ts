/**
 * The training page (tests and bench only): LeNet-5 trained on real MNIST in the page, on the wasm backend as
 * @lenet/web sets it up, with what the Node side checks or prints (losses, tensor counts, kernels, accuracy,
 * images per second) handed over through window.lenetTraining.
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
import { setupBackend } from '@lenet/web';
import { webWorkerChannels } from '@lenet/web/workers';
import * as tf from '@tensorflow/tfjs-core';
import type {
  BenchOptions,
  BenchReport,
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

async function setup(): Promise<SetupReport> {
  await setupBackend({ backend: 'wasm', wasmPaths: WASM_PATHS });
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

/**
 * Images per second of `steps` real training steps after 2 untimed ones (which create the optimizer's slots),
 * batch creation included and the loss read back every step: apps/bench/src/measure.ts's trainRate.
 */
async function trainRate(
  model: LeNet5,
  split: PreparedSplit,
  batchSize: number,
  steps: number,
  epoch: number,
) {
  const optimizer = createOptimizer('adam', 1e-3);
  let done = 0;
  let started = 0;
  let step = 0;
  for (const batch of batches(split, { batchSize, shuffle: true, seed: 1, epoch, dropLast: true })) {
    if (step === 2) started = performance.now();
    await trainStep(model, optimizer, batch.x, batch.y);
    if (step >= 2) done += batch.size;
    if (++step === steps + 2) break;
  }
  optimizer.dispose();
  return done / ((performance.now() - started) / 1000);
}

/**
 * Like {@link trainRate}, each batch split across `workers` Web Workers: apps/bench's parallelTrainRates, one
 * coordinator for every run, run 0 a warm-up.
 */
async function parallelTrainRates(
  split: PreparedSplit,
  batchSize: number,
  steps: number,
  runs: number,
  workers: number,
) {
  const channels = await webWorkerChannels({ workers, backend: 'wasm', wasmPaths: WASM_PATHS });
  const coordinator = await ParallelCoordinator.start(channels, {
    modelOptions: { seed: 1 },
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  try {
    const rates: number[] = [];
    for (let run = 0; run <= runs; run++) {
      let started = 0;
      for (let step = 0; step < steps + 2; step++) {
        if (step === 2) started = performance.now();
        const offset = ((run * (steps + 2) + step) * batchSize) % (split.count - batchSize);
        await coordinator.step(
          split.inputs.subarray(offset * 1024, (offset + batchSize) * 1024),
          split.labels.subarray(offset, offset + batchSize),
          batchSize,
        );
      }
      if (run > 0) rates.push((steps * batchSize) / ((performance.now() - started) / 1000));
    }
    return rates;
  } finally {
    await coordinator.close();
  }
}

async function bench({ steps, runs, workers }: BenchOptions): Promise<BenchReport> {
  const { train: split } = await mnist();
  const model = LeNet5.create({ seed: 1 });
  const trainImagesPerSecond: Record<string, number> = {};
  for (const batchSize of [64, 256]) {
    const timedSteps = batchSize === 64 ? steps : Math.max(2, Math.round(steps / 2));
    await trainRate(model, split, batchSize, 2, 0);
    const rates: number[] = [];
    for (let run = 1; run <= runs; run++)
      rates.push(await trainRate(model, split, batchSize, timedSteps, run));
    trainImagesPerSecond[batchSize] = median(rates);
  }
  const x = tf.tensor4d(split.inputs.subarray(0, 1000 * 1024), [1000, 32, 32, 1]);
  const inferRate = async () => {
    const started = performance.now();
    const probabilities = model.predict(x);
    await probabilities.data();
    probabilities.dispose();
    return 1000 / ((performance.now() - started) / 1000);
  };
  await inferRate();
  const inferRates: number[] = [];
  for (let run = 0; run < runs; run++) inferRates.push(await inferRate());
  x.dispose();
  model.dispose();
  let parallelTrainImagesPerSecond: Record<string, number> | undefined;
  if (workers > 0) {
    parallelTrainImagesPerSecond = {};
    for (const batchSize of [64, 256]) {
      const timedSteps = batchSize === 64 ? steps : Math.max(2, Math.round(steps / 2));
      parallelTrainImagesPerSecond[batchSize] = median(
        await parallelTrainRates(split, batchSize, timedSteps, runs, workers),
      );
    }
  }
  return { trainImagesPerSecond, parallelTrainImagesPerSecond, inferImagesPerSecond: median(inferRates) };
}

const page: TrainingPage = { setup, train, trainParallel, bench };
window.lenetTraining = page;
