import { LeNet5 } from '@lenet/ops';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyse } from './analyse';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('analyse', () => {
  it('reads every layer and the probabilities back, leaving no tensor behind', async () => {
    const model = LeNet5.create({ seed: 3 });
    const input = Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i / 7));
    const before = tf.memory().numTensors;
    const result = await analyse(model, input);
    expect(tf.memory().numTensors).toBe(before);

    expect(Object.fromEntries(Object.entries(result.layers).map(([k, v]) => [k, v.shape]))).toEqual({
      C1: [28, 28, 6],
      S2: [14, 14, 6],
      C3: [10, 10, 16],
      S4: [5, 5, 16],
      C5: [1, 1, 120],
      F6: [84],
      output: [10],
    });
    const expected = tf.tidy(() => model.predict(tf.tensor4d(input, [1, 32, 32, 1])).dataSync());
    expect([...result.probabilities].map((p) => p.toFixed(6))).toEqual(
      [...expected].map((p) => p.toFixed(6)),
    );
    expect(result.digit).toBe(expected.indexOf(Math.max(...expected)));
    await expect(analyse(model, new Float32Array(784))).rejects.toThrow(
      /one 32x32 input \(1024 values\), got 784/,
    );
    model.dispose();
  });
});
