import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../gradients';
import { type EvaluationResult, evaluate } from '../evaluate';
import { LeNet5 } from '../model';
import { randomBatchArrays, useCpuBackend } from '../test-utils/cpu';
import { ParallelCoordinator } from './coordinator';
import { flatWeights, unflattenWeights } from './flat-gradients';
import { inProcessChannel } from './in-process-channel';
import { computeLogits } from './logits';

useCpuBackend();

const ADAM = { name: 'adam', learningRate: 1e-3 } as const;

const start = (replicas: number, seed: number) =>
  ParallelCoordinator.start(
    Array.from({ length: replicas }, () => inProcessChannel()),
    { modelOptions: { seed }, optimizer: ADAM },
  );

/** `model`'s own logits for the first `count` images of `x`, on this thread, in one batch. */
async function ownLogits(model: LeNet5, x: Float32Array, count: number): Promise<Float32Array> {
  const logits = tf.tidy(() => model.forward(tf.tensor4d(x.subarray(0, count * 1024), [count, 32, 32, 1])));
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  return values;
}

/** A model with the coordinator's current weights (read from its first replica). */
async function modelOf(coordinator: ParallelCoordinator): Promise<LeNet5> {
  const model = LeNet5.create();
  model.setWeights(unflattenWeights(await coordinator.getWeights()));
  return model;
}

/** The one-thread evaluation of a model over batches of `batchSize` of these arrays. */
async function oneThreadEvaluation(
  model: LeNet5,
  x: Float32Array,
  labels: Int32Array,
  batchSize: number,
  mistakes: number,
): Promise<EvaluationResult> {
  const batches: { x: tf.Tensor4D; y: tf.Tensor1D }[] = [];
  for (let i = 0; i < labels.length; i += batchSize) {
    const n = Math.min(batchSize, labels.length - i);
    batches.push({
      x: tf.tensor4d(x.subarray(i * 1024, (i + n) * 1024), [n, 32, 32, 1]),
      y: tf.tensor1d(labels.subarray(i, i + n), 'int32'),
    });
  }
  try {
    return await evaluate(model, batches, { mistakes });
  } finally {
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
  }
}

describe('computeLogits', () => {
  it("is the model's forward pass as a plain array of its own, leaving no tensor behind", async () => {
    const model = LeNet5.create({ seed: 1 });
    const { x } = randomBatchArrays(5, 1);
    const before = tf.memory().numTensors;
    const logits = await computeLogits(model, x, 3);
    expect(tf.memory().numTensors).toBe(before);
    expect(logits).toEqual(await ownLogits(model, x, 3));
    expect(logits.byteOffset === 0 && logits.buffer.byteLength === 3 * 10 * 4).toBe(true);
    await expect(computeLogits(model, x, 6)).rejects.toThrow(/6144 floats/);
    model.dispose();
  });
});

describe('ParallelCoordinator.logits', () => {
  it("equals the model's own logits bit for bit, on 1, 2 and 3 replicas, for uneven and tiny batches", async () => {
    const { x } = randomBatchArrays(11, 2);
    const model = LeNet5.create({ seed: 4 });
    for (const replicas of [1, 2, 3]) {
      const coordinator = await start(replicas, 4);
      const before = tf.memory().numTensors;
      // 11 over 3 is 4 + 4 + 3; 2 and 1 leave replicas without a shard.
      for (const count of [11, 7, 2, 1]) {
        const logits = await coordinator.logits(x, count);
        expect(logits, `${count} images on ${replicas} replicas`).toHaveLength(count * 10);
        expect(logits, `${count} images on ${replicas} replicas`).toEqual(await ownLogits(model, x, count));
      }
      expect(tf.memory().numTensors).toBe(before);
      await coordinator.close();
      await expect(coordinator.logits(x, 1)).rejects.toThrow(/closed/);
    }
    model.dispose();
  });

  it("sees the last step's update on every replica, also when a batch is smaller than the replica count", async () => {
    const coordinator = await start(3, 5);
    const reference = await start(1, 5);
    const { x, labels } = randomBatchArrays(9, 3);
    // 2 images on 3 replicas: the third gets no shard, yet must apply the update like the others.
    for (const count of [2, 9, 1, 9]) {
      const loss = await coordinator.step(x, labels, count);
      expect(loss).toBeCloseTo(await reference.step(x, labels, count), 5);
    }
    // The update of the last step rides along with the logits request: getWeights afterwards has
    // nothing left to flush, and reads the weights the logits were computed with.
    const logits = await coordinator.logits(x, 9);
    const model = await modelOf(coordinator);
    expect(logits).toEqual(await ownLogits(model, x, 9));
    // Every replica holds the same weights: each computed a third of those logits.
    const weights = await coordinator.getWeights();
    for (const count of [1, 2]) {
      await coordinator.step(x, labels, count);
      await coordinator.logits(x, 1); // one replica busy, two idle: the update reaches all three
    }
    // An evaluation of one image (one piece, one replica busy) brings the update to all three too.
    await coordinator.step(x, labels, 9);
    expect((await coordinator.evaluate(x, labels, 1)).count).toBe(1);
    const after = await modelOf(coordinator);
    expect(await coordinator.logits(x, 9)).toEqual(await ownLogits(after, x, 9));
    expect(await flatWeights(after)).not.toEqual(weights);
    // And they stay what one replica trained on the same batches computes, up to float rounding.
    for (const count of [1, 2, 9]) await reference.step(x, labels, count);
    const expected = await reference.getWeights();
    const actual = await coordinator.getWeights();
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    expect(worst).toBeLessThan(1e-5);
    await Promise.all([coordinator.close(), reference.close()]);
    model.dispose();
    after.dispose();
  });

  it('refuses bad counts and short arrays', async () => {
    const coordinator = await start(2, 6);
    await expect(coordinator.logits(new Float32Array(1024), 2)).rejects.toThrow(/2048 floats; got 1024/);
    await expect(coordinator.logits(new Float32Array(1024), 0)).rejects.toThrow(/count >= 1/);
    await coordinator.close();
  });
});

describe('ParallelCoordinator.evaluate', () => {
  it('gives evaluate’s result on any number of replicas: accuracy, confusion, mistakes, loss', async () => {
    // An untrained model on noise: most examples are wrong, plenty of mistakes to rank.
    const { x, labels } = randomBatchArrays(31, 7);
    const model = LeNet5.create({ seed: 8 });
    const expected = await oneThreadEvaluation(model, x, labels, 1000, 12);
    expect(expected.mistakes).toHaveLength(12);
    // evaluate itself gives the same result whatever its batch sizes.
    expect(await oneThreadEvaluation(model, x, labels, 4, 12)).toEqual(expected);
    for (const replicas of [1, 2, 3]) {
      const coordinator = await start(replicas, 8);
      const before = tf.memory().numTensors;
      // batchSize 4: 8 pieces (the last of 3 images) shared by the replicas as they come free.
      for (const batchSize of [1000, 4, 1]) {
        const result = await coordinator.evaluate(x, labels, 31, { mistakes: 12, batchSize });
        expect(result, `${replicas} replicas, batch ${batchSize}`).toEqual(expected);
      }
      expect(tf.memory().numTensors).toBe(before);
      const plain = await coordinator.evaluate(x, labels, 31);
      expect(plain).not.toHaveProperty('mistakes');
      const { mistakes: _, ...rest } = expected;
      expect(plain).toEqual(rest);
      // Fewer images than replicas.
      expect(await coordinator.evaluate(x, labels, 1, { mistakes: 3 })).toEqual(
        await oneThreadEvaluation(model, x.subarray(0, 1024), labels.subarray(0, 1), 1000, 3),
      );
      await coordinator.close();
    }
    model.dispose();
  });

  it('refuses bad options and labels, and leaves no request in flight when it fails', async () => {
    const coordinator = await start(2, 9);
    const { x, labels } = randomBatchArrays(6, 9);
    await expect(coordinator.evaluate(x, labels, 6, { mistakes: -1 })).rejects.toThrow(/whole number >= 0/);
    await expect(coordinator.evaluate(x, labels, 6, { batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(coordinator.evaluate(x, labels, 7)).rejects.toThrow(/7 images/);
    const bad = Int32Array.from(labels);
    bad[1] = 10;
    await expect(coordinator.evaluate(x, bad, 6, { batchSize: 2 })).rejects.toThrow(
      /label 10 at row 1 of batch starting at example 0 is not a class id 0-9/,
    );
    // The coordinator still serves, with nothing left over from the failed call.
    expect(await coordinator.evaluate(x, labels, 6)).toMatchObject({ count: 6 });
    await coordinator.close();
  });
});
