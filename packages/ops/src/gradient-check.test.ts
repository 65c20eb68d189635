import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import './gradients';
import { crossEntropy } from './loss';
import { LeNet5, PARAM_NAMES } from './model';
import { randomBatch, useCpuBackend } from './test-utils/cpu';

useCpuBackend();

// Finite differences in float32: the loss (~2.3) carries rounding of ~2e-7, so eps = 1e-2 keeps the
// rounding error of the difference quotient near 1e-5, and tanh/avg-pool are smooth enough that the
// O(eps^2) truncation error stays of the same order. Entries are the ones with the largest analytic
// gradient, where a relative tolerance is meaningful.
const EPS = 1e-2;
const ENTRIES_PER_PARAM = 3;

describe('backpropagation through LeNet-5', () => {
  it('matches central finite differences for a handful of entries of every parameter', async () => {
    const model = LeNet5.create({ seed: 13 });
    const { x, y } = randomBatch(2, 17);
    const lossOf = () => crossEntropy(model.forward(x), y);
    const { grads, value } = tf.variableGrads(lossOf, model.variables());
    value.dispose();

    const lossAt = async (): Promise<number> => {
      const loss = lossOf();
      const v = (await loss.data())[0]!;
      loss.dispose();
      return v;
    };

    let checked = 0;
    for (const name of PARAM_NAMES) {
      const variable = model.params[name];
      const analytic = (await grads[variable.name]!.data()) as Float32Array;
      const original = ((await variable.data()) as Float32Array).slice();
      const largest = Array.from(analytic.keys())
        .sort((a, b) => Math.abs(analytic[b]!) - Math.abs(analytic[a]!))
        .slice(0, ENTRIES_PER_PARAM);
      for (const index of largest) {
        const perturbed = async (delta: number) => {
          const data = original.slice();
          data[index]! += delta;
          tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
          return lossAt();
        };
        const numeric = ((await perturbed(EPS)) - (await perturbed(-EPS))) / (2 * EPS);
        tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
        const exact = analytic[index]!;
        expect(Math.abs(exact), `${name}[${index}] has a usable gradient`).toBeGreaterThan(1e-4);
        expect(
          Math.abs(numeric - exact),
          `${name}[${index}]: numeric ${numeric}, analytic ${exact}`,
        ).toBeLessThan(2e-5 + 2e-2 * Math.abs(exact));
        checked++;
      }
    }
    expect(checked).toBe(PARAM_NAMES.length * ENTRIES_PER_PARAM);
    tf.dispose([x, y, grads]);
    model.dispose();
  });
});
