import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../gradients';
import { LeNet5 } from '../model';
import { randomBatch, useCpuBackend } from '../test-utils/cpu';
import { createOptimizer, NonFiniteLossError, trainStep } from '../train';
import { ParallelCoordinator } from './coordinator';
import {
  applyGradients,
  computeGradients,
  FLAT_PARAMETER_COUNT,
  flatWeights,
  shardRanges,
  sumShardGradients,
} from './flat-gradients';
import { inProcessChannel } from './in-process-channel';
import { encodeOptimizerState } from './optimizer-state';

useCpuBackend();

function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    difference = Math.max(difference, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return difference / scale;
}

async function batchArrays(n: number, seed: number) {
  const { x, y } = randomBatch(n, seed);
  const arrays = { x: (await x.data()) as Float32Array, labels: (await y.data()) as Int32Array };
  tf.dispose([x, y]);
  return arrays;
}

describe('shardRanges', () => {
  it('splits a batch into contiguous, near-equal, non-empty shards', () => {
    expect(shardRanges(64, 2)).toEqual([
      [0, 32],
      [32, 64],
    ]);
    expect(shardRanges(7, 3)).toEqual([
      [0, 3],
      [3, 5],
      [5, 7],
    ]);
    expect(shardRanges(2, 4)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });
});

describe('computeGradients, sumShardGradients and applyGradients', () => {
  it('shards summed by size give the whole batch’s loss and gradient', async () => {
    const model = LeNet5.create({ seed: 3 });
    const { x, labels } = await batchArrays(10, 5);
    const whole = await computeGradients(model, x, labels, 10);
    const first = await computeGradients(model, x.subarray(0, 7 * 1024), labels.subarray(0, 7), 7);
    const second = await computeGradients(model, x.subarray(7 * 1024), labels.subarray(7), 3);
    const summed = sumShardGradients([first, second]);
    expect(whole.gradients).toHaveLength(FLAT_PARAMETER_COUNT);
    expect(summed.count).toBe(10);
    expect(summed.loss).toBeCloseTo(whole.loss, 5);
    expect(maxRelativeDifference(summed.gradients, whole.gradients)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('applying flat gradients updates the model exactly as trainStep does, without leaking tensors', async () => {
    const reference = LeNet5.create({ seed: 4 });
    const model = LeNet5.create({ seed: 4 });
    const referenceOptimizer = createOptimizer('adam', 1e-3);
    const optimizer = createOptimizer('adam', 1e-3);
    const { x, labels } = await batchArrays(8, 6);
    const xTensor = tf.tensor4d(x, [8, 32, 32, 1]);
    const yTensor = tf.tensor1d(labels, 'int32');
    let tensors = 0;
    for (let step = 0; step < 3; step++) {
      const referenceLoss = await trainStep(reference, referenceOptimizer, xTensor, yTensor);
      const { loss, gradients } = await computeGradients(model, x, labels, 8);
      applyGradients(model, optimizer, gradients);
      expect(loss).toBe(referenceLoss);
      if (step === 1) tensors = tf.memory().numTensors; // after the optimizer created its slots
      if (step === 2) expect(tf.memory().numTensors).toBe(tensors);
    }
    expect(await flatWeights(model)).toEqual(await flatWeights(reference));
    tf.dispose([xTensor, yTensor]);
    for (const disposable of [reference, model, referenceOptimizer, optimizer]) disposable.dispose();
  });

  it('rejects gradients of the wrong length with a clear error', () => {
    const model = LeNet5.create();
    expect(() => applyGradients(model, createOptimizer(), new Float32Array(10))).toThrow(/61706 floats/);
    model.dispose();
  });
});

describe('ParallelCoordinator', () => {
  it('over one replica trains bit for bit as trainStep does on this thread', async () => {
    const coordinator = await ParallelCoordinator.start([inProcessChannel()], {
      modelOptions: { seed: 6 },
      optimizer: { name: 'adam', learningRate: 1e-3 },
    });
    const reference = LeNet5.create({ seed: 6 });
    const optimizer = createOptimizer('adam', 1e-3);
    for (let step = 0; step < 3; step++) {
      const { x, labels } = await batchArrays(8, 30 + step);
      const loss = await coordinator.step(x, labels, 8);
      const xTensor = tf.tensor4d(x, [8, 32, 32, 1]);
      const yTensor = tf.tensor1d(labels, 'int32');
      expect(loss).toBe(await trainStep(reference, optimizer, xTensor, yTensor));
      tf.dispose([xTensor, yTensor]);
    }
    expect(await coordinator.getWeights()).toEqual(await flatWeights(reference));
    const state = await coordinator.getOptimizerState();
    const expected = await encodeOptimizerState(optimizer);
    expect(Buffer.from(state.data).equals(Buffer.from(expected.data))).toBe(true);
    await coordinator.close();
    reference.dispose();
    optimizer.dispose();
  });

  it('started from another run’s weights and optimizer state goes on as that run (bit for bit on one replica)', async () => {
    const setup = { modelOptions: { seed: 7 }, optimizer: { name: 'adam' as const, learningRate: 1e-3 } };
    const uninterrupted = await ParallelCoordinator.start([inProcessChannel()], setup);
    const step = async (coordinator: ParallelCoordinator, seed: number) => {
      const { x, labels } = await batchArrays(6, seed);
      return coordinator.step(x, labels, 6);
    };
    for (const seed of [40, 41]) await step(uninterrupted, seed);
    // What a checkpoint holds, read between two steps.
    const resumed = await ParallelCoordinator.start([inProcessChannel(), inProcessChannel()], {
      ...setup,
      weights: await uninterrupted.getWeights(),
      optimizerState: await uninterrupted.getOptimizerState(),
    });
    const single = await ParallelCoordinator.start([inProcessChannel()], {
      ...setup,
      weights: await uninterrupted.getWeights(),
      optimizerState: await uninterrupted.getOptimizerState(),
    });
    for (const seed of [42, 43]) {
      const loss = await step(uninterrupted, seed);
      expect(await step(single, seed)).toBe(loss);
      expect(await step(resumed, seed)).toBeCloseTo(loss, 5);
    }
    const expected = await uninterrupted.getWeights();
    expect(await single.getWeights()).toEqual(expected);
    expect(maxRelativeDifference(await resumed.getWeights(), expected)).toBeLessThan(1e-5);
    await Promise.all([uninterrupted.close(), resumed.close(), single.close()]);
  });

  it('three replicas train to the same weights as one model on the whole batch', async () => {
    const channels = [inProcessChannel(), inProcessChannel(), inProcessChannel()];
    const coordinator = await ParallelCoordinator.start(channels, {
      modelOptions: { seed: 2 },
      optimizer: { name: 'adam', learningRate: 1e-3 },
    });
    const reference = LeNet5.create({ seed: 2 });
    const optimizer = createOptimizer('adam', 1e-3);
    for (let step = 0; step < 3; step++) {
      const { x, labels } = await batchArrays(11, 10 + step); // 11 = 4 + 4 + 3: unequal shards
      const loss = await coordinator.step(x, labels, 11);
      const xTensor = tf.tensor4d(x, [11, 32, 32, 1]);
      const yTensor = tf.tensor1d(labels, 'int32');
      const referenceLoss = await trainStep(reference, optimizer, xTensor, yTensor);
      tf.dispose([xTensor, yTensor]);
      expect(loss).toBeCloseTo(referenceLoss, 5);
    }
    const expected = await flatWeights(reference);
    expect(maxRelativeDifference(await coordinator.getWeights(), expected)).toBeLessThan(1e-5);
    // Every replica holds the same weights, not only the one getWeights reads.
    const second = await channels[1]!.request({ type: 'get-weights' });
    expect(second.type === 'weights' && second.weights).toEqual(await coordinator.getWeights());
    await coordinator.close();
    reference.dispose();
    optimizer.dispose();
  });

  it('resumes from a one-thread run’s weights and Adam state, and hands that state back', async () => {
    const reference = LeNet5.create({ seed: 3 });
    const optimizer = createOptimizer('adam', 1e-3);
    const step = async (seed: number) => {
      const { x, labels } = await batchArrays(6, seed);
      const xTensor = tf.tensor4d(x, [6, 32, 32, 1]);
      const yTensor = tf.tensor1d(labels, 'int32');
      await trainStep(reference, optimizer, xTensor, yTensor);
      tf.dispose([xTensor, yTensor]);
      return { x, labels };
    };
    await step(20);
    await step(21); // Adam now has moments and a step count that a fresh optimizer would lack
    const coordinator = await ParallelCoordinator.start([inProcessChannel(), inProcessChannel()], {
      modelOptions: { seed: 99 }, // other initial weights: the given ones must win
      optimizer: { name: 'adam', learningRate: 1e-3 },
      weights: await flatWeights(reference),
      optimizerState: await encodeOptimizerState(optimizer),
    });
    const before = tf.memory().numTensors;
    const { x, labels } = await step(22);
    await coordinator.step(x, labels, 6);
    expect(maxRelativeDifference(await coordinator.getWeights(), await flatWeights(reference))).toBeLessThan(
      1e-5,
    );
    const state = await coordinator.getOptimizerState();
    const expected = await encodeOptimizerState(optimizer);
    expect(state.specs).toEqual(expected.specs);
    expect(maxRelativeDifference(new Float32Array(state.data), new Float32Array(expected.data))).toBeLessThan(
      1e-5,
    );
    expect(tf.memory().numTensors).toBe(before);
    await coordinator.close();
    reference.dispose();
    optimizer.dispose();
  });

  it('sets the learning rate on every replica', async () => {
    const channels = [inProcessChannel(), inProcessChannel()];
    const coordinator = await ParallelCoordinator.start(channels, {
      modelOptions: { seed: 1 },
      optimizer: { name: 'sgd', learningRate: 1e-3 },
    });
    const reference = LeNet5.create({ seed: 1 });
    const optimizer = createOptimizer('sgd', 0.5);
    await coordinator.setLearningRate(0.5);
    const { x, labels } = await batchArrays(4, 1);
    await coordinator.step(x, labels, 4);
    const { gradients } = await computeGradients(reference, x, labels, 4);
    applyGradients(reference, optimizer, gradients);
    expect(maxRelativeDifference(await coordinator.getWeights(), await flatWeights(reference))).toBeLessThan(
      1e-5,
    );
    await coordinator.close();
    reference.dispose();
  });

  it('applies a learning rate passed with a step, from that step on', async () => {
    const coordinator = await ParallelCoordinator.start([inProcessChannel(), inProcessChannel()], {
      modelOptions: { seed: 4 },
      optimizer: { name: 'sgd', learningRate: 1e-3 },
    });
    const reference = LeNet5.create({ seed: 4 });
    const optimizer = createOptimizer('sgd', 0.5);
    for (const seed of [1, 2]) {
      const { x, labels } = await batchArrays(4, seed);
      // The rate given with the first step stays in force for the second.
      await coordinator.step(x, labels, 4, seed === 1 ? 0.5 : undefined);
      const { gradients } = await computeGradients(reference, x, labels, 4);
      applyGradients(reference, optimizer, gradients);
    }
    expect(maxRelativeDifference(await coordinator.getWeights(), await flatWeights(reference))).toBeLessThan(
      1e-5,
    );
    await coordinator.close();
    reference.dispose();
  });

  it('does not update any replica when the loss is not finite', async () => {
    const coordinator = await ParallelCoordinator.start([inProcessChannel(), inProcessChannel()], {
      modelOptions: { seed: 1 },
      optimizer: { name: 'adam', learningRate: 1e-3 },
    });
    const before = await coordinator.getWeights();
    const { x, labels } = await batchArrays(4, 1);
    x[0] = Number.NaN;
    await expect(coordinator.step(x, labels, 4)).rejects.toBeInstanceOf(NonFiniteLossError);
    expect(await coordinator.getWeights()).toEqual(before);
    await coordinator.close();
  });

  it('reports bad input and a replica’s failure clearly', async () => {
    const coordinator = await ParallelCoordinator.start([inProcessChannel()], {
      modelOptions: {},
      optimizer: { name: 'adam', learningRate: 1e-3 },
    });
    await expect(coordinator.step(new Float32Array(10), new Int32Array(1), 1)).rejects.toThrow(
      /needs 1 images \(1024 floats\)/,
    );
    await expect(coordinator.setLearningRate(-1)).rejects.toThrow(/Replica 0 failed: The learning rate/);
    await coordinator.close();
    await expect(coordinator.getWeights()).rejects.toThrow(/closed/);
  });
});
