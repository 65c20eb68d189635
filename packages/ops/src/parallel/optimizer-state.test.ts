import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../gradients';
import { useCpuBackend } from '../test-utils/cpu';
import { createOptimizer } from '../train';
import { adamPowers, decodeOptimizerState, encodeOptimizerState } from './optimizer-state';

useCpuBackend();

// Past a few hundred steps, tfjs's step-by-step float32 product beta^t and the pow(beta, t) its
// setWeights recomputes differ in the last bits; these tests go that far.
const STEPS = 600;

const bits = async (t: tf.Tensor) =>
  Array.from(new Uint32Array(((await t.data()) as Float32Array).slice().buffer));

/** One variable trained by an Adam with a different gradient every step. */
function steps(optimizer: tf.Optimizer, variable: tf.Variable, from: number, to: number): void {
  for (let step = from; step < to; step++) {
    tf.tidy(() =>
      optimizer.applyGradients({ [variable.name]: tf.fill(variable.shape, Math.sin(step) * 1e-2) }),
    );
  }
}

describe('optimizer state', () => {
  it("restores Adam's beta powers bit for bit, so the resumed steps equal the uninterrupted ones", async () => {
    const start = tf.tensor1d([0.5, -0.25, 1e-3]);
    const uninterrupted = tf.variable(start, true, 'w-uninterrupted');
    const resumed = tf.variable(start, true, 'w-resumed');
    const a = createOptimizer('adam', 1e-3);
    const before = createOptimizer('adam', 1e-3);
    steps(a, uninterrupted, 0, STEPS + 5);
    steps(before, resumed, 0, STEPS);

    const state = await encodeOptimizerState(before);
    expect(state.specs.map((s) => s.name).slice(-2)).toEqual(['beta1_power', 'beta2_power']);
    const after = createOptimizer('adam', 1e-3);
    const tensorsBefore = tf.memory().numTensors;
    await decodeOptimizerState(after, state);
    // The restored powers are the saved float32 products, not tfjs's recomputed pow(beta, t).
    const [saved1, saved2] = adamPowers(before);
    const [restored1, restored2] = adamPowers(after);
    expect(await bits(restored1)).toEqual(await bits(saved1));
    expect(await bits(restored2)).toEqual(await bits(saved2));
    const recomputed = tf.tidy(() => tf.pow(0.999, STEPS + 1));
    expect(
      await bits(recomputed),
      'this test needs a step count where pow() and the product differ',
    ).not.toEqual(await bits(saved2));
    recomputed.dispose();

    steps(after, resumed, STEPS, STEPS + 5);
    expect(await bits(resumed)).toEqual(await bits(uninterrupted));
    // Restoring made the two moment variables and freed everything else it decoded.
    expect(tf.memory().numTensors - tensorsBefore).toBe(2);
    tf.dispose([start, uninterrupted, resumed]);
    for (const optimizer of [a, before, after]) optimizer.dispose();
  });

  it('still reads a state saved without the powers (older checkpoints)', async () => {
    const variable = tf.variable(tf.zeros([2]), true, 'w-old-state');
    const before = createOptimizer('adam', 1e-3);
    steps(before, variable, 0, 3);
    const state = await encodeOptimizerState(before);
    const keep = state.specs.length - 2;
    const bytes = state.specs.slice(0, keep).reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
    const after = createOptimizer('adam', 1e-3);
    await decodeOptimizerState(after, {
      specs: state.specs.slice(0, keep),
      data: state.data.slice(0, bytes),
    });
    expect(after.iterations).toBe(3);
    variable.dispose();
    before.dispose();
    after.dispose();
  });
});
