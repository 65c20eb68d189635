import { availableParallelism } from 'node:os';
import { type ArrayBatch, type BatchOptions, batchArrays, type PreparedSplit } from '@lenet/data';
import { type NodeBackendName, workerThreadChannels } from '@lenet/node';
import type { EvaluateOptions, EvaluationResult, LeNet5, LeNet5Options } from '@lenet/ops';
import {
  flatWeights,
  inProcessChannel,
  type OptimizerState,
  ParallelCoordinator,
  type ReplicaChannel,
  unflattenWeights,
} from '@lenet/ops/parallel';
import { createGpuEngine } from './gpu-engine';

/**
 * How a run takes its training steps. On the CPU backends: a coordinator over replicas, one on this
 * thread or one per worker thread, each batch split across them (data-parallel; the same result up to
 * float rounding, and one replica is exactly one-thread training), fed batches made on the CPU. On a
 * GPU: the GPU engine (gpu-engine.ts), which holds the training set on the device and makes each
 * batch there from its plan. Either way the run's `model` is what checkpoints and the final weights read,
 * so `syncModel` brings it up to date first.
 *
 * `Batch` is what the engine steps on: it yields an epoch of them itself ({@link StepEngine.batches}),
 * and `step` takes only those.
 */
export interface StepEngine<Batch extends { size: number } = { size: number }> {
  /** 'this thread', 'N worker threads' or the device, for the run's first lines. */
  readonly description: string;
  /** One epoch of the training split's batches (`batchArrays`' or `batchPlans`' order and distortions). */
  batches(options: BatchOptions): Iterator<Batch>;
  /** One optimizer step on the batch at this learning rate; resolves with the batch's mean loss. */
  step(batch: Batch, learningRate: number): Promise<number>;
  /**
   * `evaluate` of @lenet/ops with the current weights on every image of `split`, split across the
   * replicas (1000 images per replica at a time) or in large batches on the device: the same result as
   * `evaluate(model, ...)` on this thread with those weights, up to float rounding.
   */
  evaluate(split: PreparedSplit, options?: EvaluateOptions): Promise<EvaluationResult>;
  /** Copies the current weights into the run's model. */
  syncModel(): Promise<void>;
  /** The optimizer's state, for checkpoints. */
  optimizerState(): Promise<OptimizerState>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  model: LeNet5;
  modelOptions: LeNet5Options;
  learningRate: number;
  /** Adam's state from a checkpoint; a fresh optimizer when omitted. */
  optimizerState?: OptimizerState;
  workers: number;
  /** The backend the workers set up (the one this thread runs). */
  backend: NodeBackendName;
  /** What the run trains on; the batches come from it. */
  trainSplit: PreparedSplit;
}

/** Whether a run on `backend` with `workers` threads takes the GPU engine: a GPU backend, on one thread. */
export function usesGpuEngine(backend: string, workers: number): boolean {
  return (backend === 'webgpu' || backend === 'cuda') && workers === 1;
}

/** The worker count `--workers auto` means: every core for the CPU backends, one thread for a GPU. */
export function autoWorkers(backend: string): number {
  return backend === 'wasm' || backend === 'cpu' ? Math.max(1, availableParallelism()) : 1;
}

/** The engine for the run: the GPU engine on a GPU (see {@link usesGpuEngine}), else replicas. */
export async function createEngine(options: EngineOptions): Promise<StepEngine> {
  const { model, workers, backend, trainSplit } = options;
  if (usesGpuEngine(backend, workers)) return createGpuEngine(options);
  // One thread is one replica: the same engine, without a thread to hand the work to.
  const channels: ReplicaChannel[] =
    workers > 1 ? await workerThreadChannels({ workers, backend }) : [inProcessChannel()];
  const coordinator = await ParallelCoordinator.start(channels, {
    modelOptions: options.modelOptions,
    optimizer: { name: 'adam', learningRate: options.learningRate },
    weights: await flatWeights(model),
    optimizerState: options.optimizerState,
  });
  const engine: StepEngine<ArrayBatch> = {
    description: workers > 1 ? `${workers} worker threads, ${backend} each` : 'this thread',
    batches: (batchOptions) => batchArrays(trainSplit, batchOptions),
    // Plain arrays go to the replicas as they are; the rate rides along with the step's update.
    step: (batch, learningRate) => coordinator.step(batch.inputs, batch.labels, batch.size, learningRate),
    evaluate: (split, evaluateOptions) => evaluateSplit(coordinator, split, evaluateOptions),
    async syncModel() {
      model.setWeights(unflattenWeights(await coordinator.getWeights()));
    },
    optimizerState: () => coordinator.getOptimizerState(),
    dispose: () => coordinator.close(),
  };
  return engine;
}

/** `coordinator.evaluate` on a prepared split, in batches of {@link EVALUATION_BATCH} per replica. */
export function evaluateSplit(
  coordinator: ParallelCoordinator,
  split: PreparedSplit,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  return coordinator.evaluate(split.inputs, split.labels, split.count, {
    ...options,
    batchSize: EVALUATION_BATCH,
  });
}

/** Images each replica takes at once when evaluating, as many as `evaluationBatches` gives one thread. */
export const EVALUATION_BATCH = 1000;
