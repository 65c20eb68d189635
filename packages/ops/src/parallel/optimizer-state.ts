import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerState } from './protocol';

/**
 * Adam's bias-correction powers beta1^t and beta2^t. tfjs multiplies them up in float32 step by step,
 * but its `setWeights` recomputes them as `pow(beta, t)`, which differs in the last bits: a resumed run
 * would then drift from the uninterrupted one. So they travel with the state, under the names
 * TensorFlow 1 gave them, after everything `getWeights()` returns.
 */
const ADAM_POWERS = ['beta1_power', 'beta2_power'] as const;

/** The two float32 scalar variables of tfjs's AdamOptimizer that hold beta1^t and beta2^t (private there). */
interface AdamPowers {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

/** An Adam's beta1^t and beta2^t variables; undefined for an optimizer of another kind. */
export function findAdamPowers(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] | undefined {
  const { accBeta1, accBeta2 } = optimizer as unknown as Partial<AdamPowers>;
  return accBeta1 != null && accBeta2 != null ? [accBeta1, accBeta2] : undefined;
}

/** An Adam's beta1^t and beta2^t variables. */
export function adamPowers(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] {
  const powers = findAdamPowers(optimizer);
  if (!powers)
    throw new TypeError(`${optimizer.getClassName()} is not an Adam optimizer (it has no beta powers).`);
  return powers;
}

/**
 * A tfjs optimizer's state as plain bytes, to move between threads or into a checkpoint: exactly what it
 * needs to go on as if never stopped. `getWeights()` hands out the optimizer's live slot variables plus a
 * fresh step-count scalar; only the latter is ours to free.
 */
export async function encodeOptimizerState(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  const powers = findAdamPowers(optimizer);
  if (powers) named.push(...ADAM_POWERS.map((name, i) => ({ name, tensor: powers[i]! })));
  try {
    const { data, specs } = await tf.io.encodeWeights(named);
    return { data, specs };
  } finally {
    for (const w of named) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  }
}

/**
 * Restores a state from {@link encodeOptimizerState} into an optimizer of the same kind, bit for bit.
 * A state saved without Adam's powers (older checkpoints) gets tfjs's recomputed ones.
 */
export async function decodeOptimizerState(optimizer: tf.Optimizer, state: OptimizerState): Promise<void> {
  const named = tf.io.decodeWeights(state.data, state.specs);
  try {
    const isPower = (name: string) => (ADAM_POWERS as readonly string[]).includes(name);
    // Optimizers restore their slots by position, so keep the order in which they were saved.
    await optimizer.setWeights(
      state.specs
        .filter((spec) => !isPower(spec.name))
        .map((spec) => ({ name: spec.name, tensor: named[spec.name]! })),
    );
    const powers = findAdamPowers(optimizer);
    ADAM_POWERS.forEach((name, i) => {
      const saved = named[name];
      if (powers && saved) powers[i]!.assign(saved);
    });
  } finally {
    // setWeights made variables of its own from these; the decoded tensors are no longer needed.
    tf.dispose(Object.values(named));
  }
}
