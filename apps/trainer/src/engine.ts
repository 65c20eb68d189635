import { availableParallelism } from 'node:os';
import type { ArrayBatch, PreparedSplit } from '@lenet/data';
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

/**
 * How a run takes its training steps: a coordinator over replicas, one on this thread or one per
 * worker thread, each batch split across them (data-parallel; the same result up to float rounding,
 * and one replica is exactly one-thread training). The replicas hold the weights and evaluate them,
 * split across the same threads; the run's `model` is what checkpoints and the final weights read, so
 * `syncModel` brings it up to date first.
 */
export interface StepEngine {
  /** 'this thread' or 'N worker threads', for the run's first lines. */
  readonly description: string;
  /** One optimizer step on the batch at this learning rate; resolves with the batch's mean loss. */
  step(batch: ArrayBatch, learningRate: number): Promise<number>;
  /**
   * `evaluate` of @lenet/ops with the current weights on every image of `split`, split across the
   * replicas (1000 images per replica at a time): the same result as `evaluate(model, ...)` on this
   * thread with those weights.
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
}

/** The worker count `--workers auto` means: every core for the CPU backends, one thread for a GPU. */
export function autoWorkers(backend: string): number {
  return backend === 'wasm' || backend === 'cpu' ? Math.max(1, availableParallelism()) : 1;
}

export async function createEngine(options: EngineOptions): Promise<StepEngine> {
  const { model, workers, backend } = options;
  // One thread is one replica: the same engine, without a thread to hand the work to.
  const channels: ReplicaChannel[] =
    workers > 1 ? await workerThreadChannels({ workers, backend }) : [inProcessChannel()];
  const coordinator = await ParallelCoordinator.start(channels, {
    modelOptions: options.modelOptions,
    optimizer: { name: 'adam', learningRate: options.learningRate },
    weights: await flatWeights(model),
    optimizerState: options.optimizerState,
  });
  return {
    description: workers > 1 ? `${workers} worker threads, ${backend} each` : 'this thread',
    // Plain arrays go to the replicas as they are; the rate rides along with the step's update.
    step: (batch, learningRate) => coordinator.step(batch.inputs, batch.labels, batch.size, learningRate),
    evaluate: (split, options) => evaluateSplit(coordinator, split, options),
    async syncModel() {
      model.setWeights(unflattenWeights(await coordinator.getWeights()));
    },
    optimizerState: () => coordinator.getOptimizerState(),
    dispose: () => coordinator.close(),
  };
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
