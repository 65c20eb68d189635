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
import { AugmentBatch, augmentBatch } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseWebGpuForTests, useWebGpuForTests, whyNoWebGpuForTests } from '../../test-utils/webgpu';
import { webgpuAugmentBatch } from './AugmentBatch';

const skipped = whyNoWebGpuForTests();
const augment = augmentationFor(RECIPES.default, true)!;
let split: PreparedSplit;
let images: tf.Tensor4D;

/** The largest difference between two arrays of the same length. */
function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** The plan's batch made on the device, read back. */
async function onDevice(plan: BatchPlan, background = augment.background): Promise<Float32Array> {
  const indices = tf.tensor1d(plan.indices, 'int32');
  const transforms = plan.augmentation ? tf.tensor2d(plan.augmentation.transforms, [plan.size, 8]) : null;
  const x = augmentBatch(images, indices, transforms, background);
  try {
    return (await x.data()) as Float32Array;
  } finally {
    tf.dispose([indices, transforms, x].filter((t) => t != null));
  }
}

describe.skipIf(skipped)(`AugmentBatch on webgpu (Dawn)${skipped ? ` (SKIPPED: ${skipped})` : ''}`, () => {
  beforeAll(async () => {
    split = prepareSplit((await loadEmbeddedMnist()).train, DEFAULT_PREPROCESSING, 3000);
    await useWebGpuForTests();
    expect(tf.getKernel(AugmentBatch, 'webgpu')?.kernelFunc).toBe(webgpuAugmentBatch.kernelFunc);
    images = tf.tensor4d(split.inputs, [split.count, 32, 32, 1]);
  });

  afterAll(() => {
    images?.dispose();
    releaseWebGpuForTests();
  });

  it('gives the images augmentImage gives for the same seed within 1e-5, on real MNIST batches of 1, 17 and 64', async () => {
    for (const batchSize of [1, 17, 64]) {
      const options = { batchSize, shuffle: true, seed: batchSize, epoch: 1, augment };
      const plans = batchPlans(split, options);
      const arrays = batchArrays(split, options);
      for (let b = 0; b < 3; b++) {
        const plan = plans.next().value as BatchPlan;
        const expected = arrays.next().value as ArrayBatch;
        expect(largestDifference(await onDevice(plan), expected.inputs)).toBeLessThan(1e-5);
      }
    }
  });

  it('fills what comes from outside the image with the background, also for large distortions', async () => {
    const strong = { maxShift: 12, maxRotateDeg: 40, scale: [0.5, 1.6] as [number, number], background: -3 };
    const options = { batchSize: 32, shuffle: true, seed: 4, augment: strong };
    const plan = batchPlans(split, options).next().value as BatchPlan;
    const expected = batchArrays(split, options).next().value as ArrayBatch;
    const values = await onDevice(plan, -3);
    expect(largestDifference(values, expected.inputs)).toBeLessThan(1e-5);
    expect(values.filter((v) => v === -3).length).toBeGreaterThan(1000);
  });

  it('without transforms gathers the images exactly as the CPU batches them', async () => {
    const options = { batchSize: 64, shuffle: true, seed: 2 };
    const plan = batchPlans(split, options).next().value as BatchPlan;
    const expected = batchArrays(split, options).next().value as ArrayBatch;
    expect(await onDevice(plan)).toEqual(expected.inputs);
  });

  it('runs as one kernel and leaves tf.memory() as it was, GPU bytes included', async () => {
    const plan = batchPlans(split, { batchSize: 64, shuffle: true, seed: 3, augment }).next()
      .value as BatchPlan;
    const indices = tf.tensor1d(plan.indices, 'int32');
    const transforms = tf.tensor2d(plan.augmentation!.transforms, [plan.size, 8]);
    await onDevice(plan); // the pipeline is compiled and cached once
    const profile = await tf.profile(async () => {
      const x = augmentBatch(images, indices, transforms, augment.background);
      await x.data();
      x.dispose();
    });
    expect(profile.kernels.map((k) => k.name)).toEqual([AugmentBatch]);
    // After the profile, whose timing queries keep buffers of their own.
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    for (let step = 0; step < 3; step++) await onDevice(plan);
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.numBytesInGPU).toBe(before.numBytesInGPU);
    tf.dispose([indices, transforms]);
  });

  it('gives the background for an index outside the split', async () => {
    const plan = batchPlans(split, { batchSize: 2, augment }).next().value as BatchPlan;
    plan.indices[1] = split.count;
    const values = await onDevice(plan);
    expect(values.subarray(1024).every((v) => v === Math.fround(augment.background))).toBe(true);
  });
});
