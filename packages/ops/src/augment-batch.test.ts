import '@tensorflow/tfjs-backend-cpu';
import {
  type ArrayBatch,
  augmentationFor,
  type BatchPlan,
  batchArrays,
  batchPlans,
  DEFAULT_PREPROCESSING,
  type PreparedSplit,
  prepareSplit,
  RECIPES,
} from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { augmentBatch } from './augment-batch';
import { AugmentBatch } from './kernel-names';

let split: PreparedSplit;
let images: tf.Tensor4D;
const augment = augmentationFor(RECIPES.default, true)!;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  expect(tf.getBackend()).toBe('cpu');
  split = prepareSplit((await loadEmbeddedMnist()).train, DEFAULT_PREPROCESSING, 3000);
  images = tf.tensor4d(split.inputs, [split.count, 32, 32, 1]);
});

afterAll(() => {
  images.dispose();
});

/** The largest difference between two arrays of the same length. */
function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('augmentBatch with stock tfjs ops (no AugmentBatch kernel on cpu)', () => {
  it('gives the images augmentImage gives for the same seed, within 1e-5, on real MNIST', async () => {
    expect(tf.getKernel(AugmentBatch, 'cpu')).toBeUndefined();
    for (const batchSize of [1, 17, 64]) {
      const options = { batchSize, shuffle: true, seed: batchSize, epoch: 2, augment };
      const plans = batchPlans(split, options);
      const arrays = batchArrays(split, options);
      for (let b = 0; b < 3; b++) {
        const plan = plans.next().value as BatchPlan;
        const expected = arrays.next().value as ArrayBatch;
        const before = tf.memory().numTensors;
        const indices = tf.tensor1d(plan.indices, 'int32');
        const transforms = tf.tensor2d(plan.augmentation!.transforms, [plan.size, 8]);
        const x = augmentBatch(images, indices, transforms, plan.augmentation!.background);
        expect(x.shape).toEqual([batchSize, 32, 32, 1]);
        const worst = largestDifference(await x.data(), expected.inputs);
        expect(worst).toBeLessThan(1e-5);
        tf.dispose([indices, transforms, x]);
        expect(tf.memory().numTensors).toBe(before);
      }
    }
  });

  it('fills what comes from outside the image with the background, also for large shifts', async () => {
    const strong = { maxShift: 12, maxRotateDeg: 40, scale: [0.5, 1.6] as [number, number], background: -3 };
    const options = { batchSize: 32, shuffle: true, seed: 4, augment: strong };
    const plan = batchPlans(split, options).next().value as BatchPlan;
    const expected = batchArrays(split, options).next().value as ArrayBatch;
    const x = tf.tidy(() =>
      augmentBatch(
        images,
        tf.tensor1d(plan.indices, 'int32'),
        tf.tensor2d(plan.augmentation!.transforms, [plan.size, 8]),
        -3,
      ),
    );
    const values = await x.data();
    x.dispose();
    expect(largestDifference(values, expected.inputs)).toBeLessThan(1e-5);
    expect(values.filter((v) => v === -3).length).toBeGreaterThan(1000);
  });

  it('without transforms gathers the images as they are', async () => {
    const before = tf.memory().numTensors;
    const plan = batchPlans(split, { batchSize: 50, shuffle: true, seed: 1 }).next().value as BatchPlan;
    expect(plan.augmentation).toBeUndefined();
    const indices = tf.tensor1d(plan.indices, 'int32');
    const x = augmentBatch(images, indices, null);
    const values = await x.data();
    plan.indices.forEach((example, i) => {
      expect(values.subarray(i * 1024, (i + 1) * 1024)).toEqual(
        split.inputs.subarray(example * 1024, (example + 1) * 1024),
      );
    });
    tf.dispose([indices, x]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('says what is wrong with its inputs', () => {
    tf.tidy(() => {
      const indices = tf.tensor1d([0, 1], 'int32');
      expect(() => augmentBatch(tf.zeros([2, 28, 28, 1]) as tf.Tensor4D, indices)).toThrow(
        /images as a float32 tensor of shape \[N, 32, 32, 1\]; got float32 \[2,28,28,1\]/,
      );
      expect(() => augmentBatch(images, tf.tensor1d([0, 1], 'float32'))).toThrow(
        /indices as an int32 tensor/,
      );
      expect(() => augmentBatch(images, indices, tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(
        /one transform of 8 floats per index, a float32 tensor of shape \[2, 8\].*got float32 \[2,4\]/,
      );
    });
  });
});
