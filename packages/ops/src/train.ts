import * as tf from '@tensorflow/tfjs-core';
import { FusedAdamOptimizer } from './fused-adam';
import type { LeNet5 } from './model';

/** Optimizers {@link createOptimizer} knows. */
export type OptimizerName = 'adam' | 'sgd' | 'momentum';

/** The names {@link createOptimizer} accepts, for validating user input. */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['adam', 'sgd', 'momentum'];

/** Momentum used by the `'momentum'` optimizer (the usual 0.9). */
export const MOMENTUM = 0.9;

/**
 * A tfjs optimizer by name. The default, Adam with learning rate 1e-3, is the seed's recipe.
 * `'momentum'` is SGD with momentum {@link MOMENTUM}.
 */
export function createOptimizer(name: OptimizerName = 'adam', learningRate = 1e-3): tf.Optimizer {
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new RangeError(
      `The learning rate must be a positive finite number (got ${learningRate}). Try 1e-3.`,
    );
  }
  switch (name) {
    case 'adam':
      // tf.train.adam's defaults (beta1 0.9, beta2 0.999, the backend's epsilon), fused where the backend can.
      return new FusedAdamOptimizer(learningRate, 0.9, 0.999);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, MOMENTUM);
    default:
      throw new RangeError(
        `Unknown optimizer '${name as string}'. Use one of: ${OPTIMIZER_NAMES.join(', ')}.`,
      );
  }
}

/** Thrown by {@link trainStep} when the loss is NaN or ±Infinity; the step's update was not applied. */
export class NonFiniteLossError extends Error {
  /** The loss that was read (NaN, Infinity or -Infinity). */
  readonly loss: number;
  /** 1-based number of the failed step for this optimizer (steps applied before it, plus one). */
  readonly step: number;

  constructor(loss: number, step: number) {
    super(
      `The loss became ${loss} at training step ${step}, so training stopped and this step's update was not applied. ` +
        'This usually means the learning rate is too high (try 10x lower) or the input holds NaN/Infinity.',
    );
    this.name = 'NonFiniteLossError';
    this.loss = loss;
    this.step = step;
  }
}

/**
 * One optimisation step on a batch: computes the mean cross-entropy and its gradients, and applies them
 * only when the loss is finite. Returns the batch's mean loss (before the update).
 * Leaves `tf.memory().numTensors` unchanged, except for the optimizer's own slots on its first step.
 * @throws {@link NonFiniteLossError} when the loss is NaN or infinite (the model is left unchanged).
 */
export async function trainStep(
  model: LeNet5,
  optimizer: tf.Optimizer,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
): Promise<number> {
  // Same work as optimizer.minimize(f, true), split in two so the update can be skipped on a bad loss.
  const { value, grads } = tf.tidy(() => model.lossAndGradients(x, y));
  try {
    // data(), not dataSync(): some backends (webgpu without OffscreenCanvas) cannot read synchronously.
    const loss = (await value.data())[0]!;
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss, optimizer.iterations + 1);
    tf.tidy(() => optimizer.applyGradients(grads));
    return loss;
  } finally {
    value.dispose();
    tf.dispose(grads);
  }
}
