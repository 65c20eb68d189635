import { availableParallelism } from 'node:os';
import type { ArrayBatch } from '@lenet/data';
import { createParallelTrainer, type NodeBackendName, type ParallelTrainer } from '@lenet/node';
import {
  createOptimizer,
  decodeOptimizerState,
  encodeOptimizerState,
  flatWeights,
  type LeNet5,
  type LeNet5Options,
  type OptimizerState,
  setOptimizerLearningRate,
  trainStep,
  unflattenWeights,
} from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';

/**
 * How a run takes its training steps: all on this thread, or each batch split across worker threads
 * (data-parallel, one replica per worker; the same result up to float rounding). The run's `model`
 * is what evaluation and checkpoints read, so `syncModel` brings it up to date first.
 */
export interface StepEngine {
  /** 'this thread' or 'N worker threads', for the run's first lines. */
  readonly description: string;
  /** One optimizer step on the batch at this learning rate; resolves with the batch's mean loss. */
  step(batch: ArrayBatch, learningRate: number): Promise<number>;
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
  return options.workers > 1 ? parallelEngine(options) : singleThreadEngine(options);
}

async function singleThreadEngine({
  model,
  learningRate,
  optimizerState,
}: EngineOptions): Promise<StepEngine> {
  const optimizer = createOptimizer('adam', learningRate);
  if (optimizerState) await decodeOptimizerState(optimizer, optimizerState);
  return {
    description: 'this thread',
    async step(batch, rate) {
      setOptimizerLearningRate(optimizer, rate);
      const x = tf.tensor4d(batch.inputs, [batch.size, 32, 32, 1]);
      const y = tf.tensor1d(batch.labels, 'int32');
      try {
        return await trainStep(model, optimizer, x, y);
      } finally {
        tf.dispose([x, y]);
      }
    },
    async syncModel() {},
    optimizerState: () => encodeOptimizerState(optimizer),
    async dispose() {
      optimizer.dispose();
    },
  };
}

async function parallelEngine(options: EngineOptions): Promise<StepEngine> {
  const { model, workers } = options;
  const trainer: ParallelTrainer = await createParallelTrainer({
    workers,
    backend: options.backend,
    modelOptions: options.modelOptions,
    optimizer: { name: 'adam', learningRate: options.learningRate },
    weights: await flatWeights(model),
    optimizerState: options.optimizerState,
  });
  return {
    description: `${workers} worker threads, ${options.backend} each`,
    async step(batch, learningRate) {
      // Plain arrays go to the workers as they are (no tensors on this thread); the rate rides with the update.
      return trainer.step(batch.inputs, batch.labels, batch.size, learningRate);
    },
    async syncModel() {
      model.setWeights(unflattenWeights(await trainer.getWeights()));
    },
    optimizerState: () => trainer.getOptimizerState(),
    dispose: () => trainer.dispose(),
  };
}
