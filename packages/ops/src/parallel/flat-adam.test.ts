import { describe, expect, it } from 'vitest';
import '../gradients';
import { LeNet5 } from '../model';
import { useCpuBackend } from '../test-utils/cpu';
import { createOptimizer } from '../train';
import { FlatAdam } from './flat-adam';
import { applyGradients, FLAT_PARAMETER_COUNT, flatWeights } from './flat-gradients';
import { decodeOptimizerState, encodeOptimizerState } from './optimizer-state';

useCpuBackend();

/** Gradients of a realistic spread of magnitudes, different every step. */
function gradientsFor(step: number): Float32Array {
  const g = new Float32Array(FLAT_PARAMETER_COUNT);
  let state = step * 7919 + 1;
  for (let i = 0; i < g.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    g[i] = ((state / 2 ** 32 - 0.5) * 10 ** -(state % 5)) as number;
  }
  return g;
}

describe('FlatAdam', () => {
  it('gives bit-identical weights and moments to tfjs Adam, step after step, as the learning rate changes', async () => {
    const model = LeNet5.create({ seed: 3 });
    const optimizer = createOptimizer('adam', 3e-3);
    const flat = await FlatAdam.fromOptimizer(optimizer, model);
    const weights = await flatWeights(model);
    for (let step = 0; step < 6; step++) {
      const rate = 3e-3 * (1 - step / 10);
      (optimizer as unknown as { learningRate: number }).learningRate = rate;
      flat.learningRate = rate;
      applyGradients(model, optimizer, gradientsFor(step));
      flat.step(weights, gradientsFor(step));
    }
    expect(Buffer.from((await flatWeights(model)).buffer).equals(Buffer.from(weights.buffer))).toBe(true);
    const fromTfjs = await FlatAdam.fromOptimizer(optimizer, model);
    expect(fromTfjs.iterations).toBe(6);
    expect(Buffer.from(fromTfjs.m.buffer).equals(Buffer.from(flat.m.buffer))).toBe(true);
    expect(Buffer.from(fromTfjs.v.buffer).equals(Buffer.from(flat.v.buffer))).toBe(true);
    model.dispose();
    optimizer.dispose();
  });

  it('round-trips through tfjs Adam state and a checkpoint encoding', async () => {
    const model = LeNet5.create({ seed: 4 });
    const flat = new FlatAdam(1e-3, 0.9, 0.999, 1e-7);
    const weights = await flatWeights(model);
    for (let step = 0; step < 3; step++) flat.step(weights, gradientsFor(step));

    const optimizer = createOptimizer('adam', 1e-3);
    await flat.writeTo(optimizer, model);
    const restored = createOptimizer('adam', 1e-3);
    await decodeOptimizerState(restored, await encodeOptimizerState(optimizer));
    const back = await FlatAdam.fromOptimizer(restored, model);
    expect(back.iterations).toBe(3);
    expect(Array.from(back.m)).toEqual(Array.from(flat.m));
    expect(Array.from(back.v)).toEqual(Array.from(flat.v));

    // The next step from the restored state matches the next step of the original.
    const a = weights.slice();
    const b = weights.slice();
    flat.step(a, gradientsFor(3));
    back.step(b, gradientsFor(3));
    expect(Array.from(b)).toEqual(Array.from(a));
    model.dispose();
    optimizer.dispose();
    restored.dispose();
  });

  it('refuses arrays of the wrong length', () => {
    const flat = new FlatAdam(1e-3, 0.9, 0.999, 1e-7);
    expect(() => flat.step(new Float32Array(3), new Float32Array(3))).toThrow(/61706 weights and gradients/);
  });
});
