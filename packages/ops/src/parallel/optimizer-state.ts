import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerState } from './protocol';

/**
 * A tfjs optimizer's state as plain bytes, to move between threads or into a checkpoint.
 * `getWeights()` hands out the optimizer's live slot variables plus a fresh step-count scalar;
 * only the latter is ours to free.
 */
export async function encodeOptimizerState(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  try {
    const { data, specs } = await tf.io.encodeWeights(named);
    return { data, specs };
  } finally {
    for (const w of named) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  }
}

/** Restores a state from {@link encodeOptimizerState} into an optimizer of the same kind. */
export async function decodeOptimizerState(optimizer: tf.Optimizer, state: OptimizerState): Promise<void> {
  const named = tf.io.decodeWeights(state.data, state.specs);
  try {
    // Optimizers restore their slots by position, so keep the order in which they were saved.
    await optimizer.setWeights(state.specs.map((spec) => ({ name: spec.name, tensor: named[spec.name]! })));
  } finally {
    // setWeights made variables of its own from these; the decoded tensors are no longer needed.
    tf.dispose(Object.values(named));
  }
}
