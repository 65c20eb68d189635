import '@tensorflow/tfjs-backend-cpu';
import { DEFAULT_PREPROCESSING, prepareSplit } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { evaluate, LeNet5 } from '@lenet/ops';
import { flatWeights, inProcessChannel, ParallelCoordinator } from '@lenet/ops/parallel';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluationBatches } from './dataset';
import { createEngine, evaluateSplit } from './engine';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe("the engine's evaluation (every epoch's test pass)", () => {
  it('gives what evaluate on this thread gives with the same weights, on one replica or several', async () => {
    const mnist = await loadEmbeddedMnist();
    // 1,001 images: 1000 + 1 on one replica, 334 + 334 + 333 on three.
    const test = prepareSplit(mnist.test, DEFAULT_PREPROCESSING, 1001);
    const train = prepareSplit(mnist.train, DEFAULT_PREPROCESSING, 64);
    const model = LeNet5.create({ seed: 2 });
    const engine = await createEngine({
      model,
      modelOptions: { seed: 2 },
      learningRate: 1e-3,
      workers: 1,
      backend: 'cpu',
      trainSplit: train,
    });
    try {
      // Steps first: the last one's update reaches the replicas with the evaluation's first request
      // (the first one's creates Adam's slots, which stay).
      const batch = {
        inputs: train.inputs,
        labels: Int32Array.from(train.labels),
        size: 64,
        indices: Uint32Array.from({ length: 64 }, (_, i) => i),
      };
      for (let step = 0; step < 2; step++) await engine.step(batch, 1e-3);
      const before = tf.memory().numTensors;
      const result = await engine.evaluate(test, { mistakes: 40 });
      expect(tf.memory().numTensors).toBe(before);
      await engine.syncModel();
      const expected = await evaluate(model, evaluationBatches(test), { mistakes: 40 });
      expect(expected.mistakes).toHaveLength(40);
      expect(result).toEqual(expected);

      // Three replicas holding the same weights: the same result, bit for bit.
      const weights = await flatWeights(model);
      const replicas = await ParallelCoordinator.start(
        [inProcessChannel(), inProcessChannel(), inProcessChannel()],
        { modelOptions: {}, optimizer: { name: 'adam', learningRate: 1e-3 }, weights },
      );
      expect(await evaluateSplit(replicas, test, { mistakes: 40 })).toEqual(expected);
      expect(await evaluateSplit(replicas, test)).toEqual({ ...expected, mistakes: undefined });
      await replicas.close();
    } finally {
      await engine.dispose();
      model.dispose();
    }
  });
});
