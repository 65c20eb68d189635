import { batches, DEFAULT_PREPROCESSING, type PreparedSplit, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { createOptimizer, evaluate, LeNet5, trainStep } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { useBackend } from './backends';

function prepare(split: { images: Uint8Array; labels: Uint8Array }, count: number): PreparedSplit {
  return {
    count,
    inputs: preprocessImages(split.images.subarray(0, count * 28 * 28), count, DEFAULT_PREPROCESSING),
    labels: split.labels.subarray(0, count),
  };
}

// The reason this package exists: the wasm backend alone cannot train a convnet.
it('trains LeNet-5 on real MNIST with the wasm backend', async () => {
  expect((await useBackend('wasm')).name).toBe('wasm');
  const mnist = await loadEmbeddedMnist();
  const train = prepare(mnist.train, 6400);
  const test = prepare(mnist.test, 1000);
  const model = LeNet5.create({ seed: 1 });
  const optimizer = createOptimizer('adam', 1e-3);

  const before = await evaluate(model, batches(test, { batchSize: 500 }));
  const losses: number[] = [];
  const tensorsAfterEachStep = new Set<number>();
  for (const batch of batches(train, { batchSize: 64, shuffle: true, seed: 1 })) {
    losses.push(await trainStep(model, optimizer, batch.x, batch.y));
    // The optimizer creates its slots on the first step; from then on every step must be leak-free.
    if (losses.length > 1) tensorsAfterEachStep.add(tf.memory().numTensors);
  }
  const after = await evaluate(model, batches(test, { batchSize: 500 }));

  expect(losses).toHaveLength(100);
  expect(tensorsAfterEachStep.size).toBe(1);
  expect(before.accuracy).toBeLessThan(0.3);
  expect(after.accuracy).toBeGreaterThan(0.8);
  expect(after.loss).toBeLessThan(before.loss / 2);
  model.dispose();
  optimizer.dispose();
});
