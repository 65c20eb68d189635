import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import './gradients';
import { beforeAll, expect, it } from 'vitest';
import { FusedAdamOptimizer } from './fused-adam';
import { FusedAdamUpdate } from './kernel-names';
import { createOptimizer } from './train';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

it('is what createOptimizer("adam") returns: a tfjs AdamOptimizer with the same config and class name', () => {
  const fused = createOptimizer('adam', 2e-3);
  const tfjs = tf.train.adam(2e-3);
  expect(fused).toBeInstanceOf(FusedAdamOptimizer);
  expect(fused).toBeInstanceOf(tf.AdamOptimizer);
  expect(fused.getClassName()).toBe('Adam');
  expect(fused.getConfig()).toEqual(tfjs.getConfig());
  fused.dispose();
  tfjs.dispose();
});

it('runs tfjs’s own Adam, bit for bit, on a backend without the fused kernel', async () => {
  expect(tf.getKernel(FusedAdamUpdate, 'cpu')).toBeUndefined();
  const run = async (optimizer: tf.Optimizer) => {
    const w = tf.variable(tf.tensor1d([0.5, -1.5, 2, 3e-3]), true, `w${Math.random()}`);
    for (let step = 0; step < 4; step++) {
      optimizer.minimize(() => tf.sum(tf.mul(tf.square(w), tf.tensor1d([1, 2, 3, 4]))));
    }
    const values = w.dataSync();
    const moments = (await optimizer.getWeights()).slice(1).map((s) => s.tensor.dataSync());
    w.dispose();
    optimizer.dispose();
    return { values, moments };
  };
  expect(await run(createOptimizer('adam', 0.1))).toEqual(await run(tf.train.adam(0.1)));
});
