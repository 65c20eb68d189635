import { availableParallelism } from 'node:os';
import { batches, DEFAULT_PREPROCESSING, type PreparedSplit, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { type NodeBackendName, useBackend, workerThreadChannels } from '@lenet/node';
import { createOptimizer, LeNet5, trainStep } from '@lenet/ops';
import { ParallelCoordinator } from '@lenet/ops/parallel';
import * as tf from '@tensorflow/tfjs-core';

/** What one backend measured: medians over `runs` timed runs, after warm-up. */
export interface BackendResult {
  backend: string;
  device: string;
  trainImagesPerSecond: Record<string, number>;
  /** Training with one worker thread per core (data-parallel), CPU backends only; keyed by batch size. */
  parallelTrainImagesPerSecond?: Record<string, number>;
  workers?: number;
  inferImagesPerSecond: number;
  /** Inference at batch 1000 split across one worker thread per core (`ParallelCoordinator.logits`), CPU backends only. */
  parallelInferImagesPerSecond?: number;
  latencyMs: number;
  peakRssMb: number;
}

export interface MeasureOptions {
  runs: number;
  /** Training steps per timed run (halved for batch 256). */
  steps: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function prepareData(count: number): Promise<PreparedSplit> {
  const mnist = await loadEmbeddedMnist();
  return {
    count,
    labels: mnist.train.labels.subarray(0, count),
    inputs: preprocessImages(mnist.train.images.subarray(0, count * 784), count, DEFAULT_PREPROCESSING),
  };
}

/** Images per second of `steps` real training steps (batch creation included, loss read back every step). */
async function trainRate(
  model: LeNet5,
  data: PreparedSplit,
  batchSize: number,
  steps: number,
  epoch: number,
) {
  const optimizer = createOptimizer('adam', 1e-3);
  let done = 0;
  let started = 0;
  let step = 0;
  for (const batch of batches(data, { batchSize, shuffle: true, seed: 1, epoch, dropLast: true })) {
    if (step === 2) started = performance.now(); // the first steps create the optimizer's slots
    await trainStep(model, optimizer, batch.x, batch.y);
    if (step >= 2) done += batch.size;
    if (++step === steps + 2) break;
  }
  optimizer.dispose();
  return done / ((performance.now() - started) / 1000);
}

/** Like {@link trainRate}, with each batch split across `workers` worker threads. */
async function parallelTrainRates(
  data: PreparedSplit,
  batchSize: number,
  steps: number,
  runs: number,
  workers: number,
  backend: NodeBackendName,
) {
  const trainer = await ParallelCoordinator.start(await workerThreadChannels({ workers, backend }), {
    modelOptions: { seed: 1 },
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  try {
    const rates: number[] = [];
    for (let run = 0; run <= runs; run++) {
      let started = 0;
      for (let step = 0; step < steps + 2; step++) {
        if (step === 2) started = performance.now();
        const offset = ((run * (steps + 2) + step) * batchSize) % (data.count - batchSize);
        await trainer.step(
          data.inputs.subarray(offset * 1024, (offset + batchSize) * 1024),
          data.labels.subarray(offset, offset + batchSize),
          batchSize,
        );
      }
      if (run > 0) rates.push((steps * batchSize) / ((performance.now() - started) / 1000)); // run 0 warms up
    }
    return rates;
  } finally {
    await trainer.close();
  }
}

/** Median images per second of the logits of 1000 images split across `workers` worker threads. */
async function parallelInferRate(
  data: PreparedSplit,
  runs: number,
  workers: number,
  backend: NodeBackendName,
) {
  const coordinator = await ParallelCoordinator.start(await workerThreadChannels({ workers, backend }), {
    modelOptions: { seed: 1 },
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  try {
    const x = data.inputs.subarray(0, 1000 * 1024);
    await coordinator.logits(x, 1000); // warm-up
    const rates: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      await coordinator.logits(x, 1000);
      rates.push(1000 / ((performance.now() - started) / 1000));
    }
    return median(rates);
  } finally {
    await coordinator.close();
  }
}

/** Images per second of one forward pass at batch `batchSize`, read back. */
async function inferRate(model: LeNet5, x: tf.Tensor4D) {
  const started = performance.now();
  const probabilities = model.predict(x);
  await probabilities.data();
  probabilities.dispose();
  return x.shape[0] / ((performance.now() - started) / 1000);
}

/** Runs every measurement on one backend, in this process. */
export async function measureBackend(
  name: 'auto' | NodeBackendName,
  options: MeasureOptions,
): Promise<BackendResult> {
  const backend = await useBackend(name);
  const data = await prepareData(Math.max(1000, 256 * (options.steps + 2)));
  const model = LeNet5.create({ seed: 1 });

  const trainImagesPerSecond: Record<string, number> = {};
  for (const batchSize of [64, 256]) {
    const steps = batchSize === 64 ? options.steps : Math.max(2, Math.round(options.steps / 2));
    await trainRate(model, data, batchSize, 2, 0); // warm-up: kernels compiled, memory pools grown
    const rates: number[] = [];
    for (let run = 1; run <= options.runs; run++)
      rates.push(await trainRate(model, data, batchSize, steps, run));
    trainImagesPerSecond[batchSize] = median(rates);
  }

  // Data-parallel training: what `lenet train` does on the CPU backends with more than one core.
  const workers = availableParallelism();
  let parallelTrainImagesPerSecond: Record<string, number> | undefined;
  if (workers > 1 && (backend.name === 'wasm' || backend.name === 'cpu')) {
    parallelTrainImagesPerSecond = {};
    for (const batchSize of [64, 256]) {
      const steps = batchSize === 64 ? options.steps : Math.max(2, Math.round(options.steps / 2));
      const rates = await parallelTrainRates(data, batchSize, steps, options.runs, workers, backend.name);
      parallelTrainImagesPerSecond[batchSize] = median(rates);
    }
  }

  // Inference on this thread, and (CPU backends) split across the worker threads: the logits of 1000
  // images from arrays, each shard copied to its worker and the logits sent back.
  const parallelInferImagesPerSecond =
    parallelTrainImagesPerSecond && (await parallelInferRate(data, options.runs, workers, backend.name));
  const x1000 = tf.tensor4d(data.inputs.subarray(0, 1000 * 1024), [1000, 32, 32, 1]);
  const x1 = tf.tensor4d(data.inputs.subarray(0, 1024), [1, 32, 32, 1]);
  await inferRate(model, x1000);
  const inferRates: number[] = [];
  for (let run = 0; run < options.runs; run++) inferRates.push(await inferRate(model, x1000));
  const latencies: number[] = [];
  for (let run = 0; run < 5 + options.runs * 4; run++) latencies.push(1000 / (await inferRate(model, x1)));
  tf.dispose([x1000, x1]);
  model.dispose();

  return {
    backend: backend.name,
    device: backend.device,
    trainImagesPerSecond,
    ...(parallelTrainImagesPerSecond ? { parallelTrainImagesPerSecond, workers } : {}),
    inferImagesPerSecond: median(inferRates),
    ...(parallelInferImagesPerSecond ? { parallelInferImagesPerSecond } : {}),
    latencyMs: median(latencies.slice(5)),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}
