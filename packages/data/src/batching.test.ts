import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchCount } from './batch-plans';
import { batchArrays, batches } from './batching';
import { parseMnistFiles } from './mnist';
import type { PreparedSplit } from './prepared-split';
import { readRealMnistFile } from './test-utils/mnist-files';
import { MNIST_MEAN, MNIST_STD, pixelValue, preprocessImages } from './transforms';

const COUNT = 250;
let split: PreparedSplit;

beforeAll(async () => {
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner in the test output
  await tf.setBackend('cpu');
  expect(tf.getBackend()).toBe('cpu');
  const mnist = parseMnistFiles({
    trainImages: readRealMnistFile('trainImages'),
    trainLabels: readRealMnistFile('trainLabels'),
    testImages: readRealMnistFile('testImages'),
    testLabels: readRealMnistFile('testLabels'),
  });
  const normalize = { mean: MNIST_MEAN, std: MNIST_STD };
  split = {
    count: COUNT,
    inputs: preprocessImages(mnist.test.images.subarray(0, COUNT * 784), COUNT, { resize: 'pad', normalize }),
    labels: mnist.test.labels.subarray(0, COUNT),
  };
});

describe('batchCount', () => {
  it('rounds up, or down with dropLast', () => {
    expect(batchCount(250, 64)).toBe(4);
    expect(batchCount(250, 64, true)).toBe(3);
    expect(batchCount(256, 64, true)).toBe(4);
    expect(batchCount(0, 64)).toBe(0);
    expect(() => batchCount(10, 0)).toThrow(/batchSize must be a positive integer/);
  });
});

describe('batches', () => {
  it('yields tensors whose shapes, inputs and labels match the split', () => {
    const sizes: number[] = [];
    for (const batch of batches(split, { batchSize: 64, shuffle: true, seed: 1 })) {
      sizes.push(batch.size);
      expect(batch.x.shape).toEqual([batch.size, 32, 32, 1]);
      expect(batch.x.dtype).toBe('float32');
      expect(batch.y.dtype).toBe('int32');
      const x = batch.x.dataSync();
      const y = batch.y.dataSync();
      for (let i = 0; i < batch.size; i++) {
        const example = batch.indices[i]!;
        expect(y[i]).toBe(split.labels[example]);
        expect(x.subarray(i * 1024, (i + 1) * 1024)).toEqual(
          split.inputs.subarray(example * 1024, (example + 1) * 1024),
        );
      }
    }
    expect(sizes).toEqual([64, 64, 64, 58]);
  });

  it('covers every index exactly once per epoch; the order is deterministic per (seed, epoch)', () => {
    const order = (seed: number, epoch: number) => {
      const seen: number[] = [];
      for (const batch of batches(split, { batchSize: 32, shuffle: true, seed, epoch }))
        seen.push(...batch.indices);
      return seen;
    };
    const epoch0 = order(5, 0);
    expect([...epoch0].sort((a, b) => a - b)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(order(5, 0)).toEqual(epoch0);
    expect(order(5, 1)).not.toEqual(epoch0);
    expect(order(6, 0)).not.toEqual(epoch0);
    const unshuffled: number[] = [];
    for (const batch of batches(split, { batchSize: 100 })) unshuffled.push(...batch.indices);
    expect(unshuffled).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });

  it('honours dropLast and limit', () => {
    const sizes = (options: Parameters<typeof batches>[1]) => [...batches(split, options)].map((b) => b.size);
    expect(sizes({ batchSize: 64, dropLast: true })).toEqual([64, 64, 64]);
    expect(sizes({ batchSize: 64, limit: 100 })).toEqual([64, 36]);
    expect(sizes({ batchSize: 64, limit: 100, dropLast: true })).toEqual([64]);
  });

  it('augments deterministically without changing the order or the labels', () => {
    const augment = { maxShift: 2, maxRotateDeg: 10, scale: [0.9, 1.1] as [number, number] };
    const background = pixelValue(0, { mean: MNIST_MEAN, std: MNIST_STD });
    const run = () => {
      const out: { indices: number[]; x: Float32Array }[] = [];
      for (const b of batches(split, {
        batchSize: 50,
        shuffle: true,
        seed: 3,
        augment: { ...augment, background },
      })) {
        out.push({ indices: [...b.indices], x: b.x.dataSync() as Float32Array });
      }
      return out;
    };
    const first = run();
    expect(run()).toEqual(first);
    const plain = [...batches(split, { batchSize: 50, shuffle: true, seed: 3 })].map((b) => [...b.indices]);
    expect(first.map((b) => b.indices)).toEqual(plain);
    const example = first[0]!.indices[0]!;
    expect(first[0]!.x.subarray(0, 1024)).not.toEqual(
      split.inputs.subarray(example * 1024, (example + 1) * 1024),
    );
  });

  it('yields the same batches as plain arrays through batchArrays, creating no tensors', () => {
    const augment = {
      maxShift: 2,
      maxRotateDeg: 10,
      scale: [0.9, 1.1] as [number, number],
      background: -0.4,
    };
    const options = { batchSize: 64, shuffle: true, seed: 5, epoch: 2, augment };
    const before = tf.memory().numTensors;
    const arrays = [...batchArrays(split, options)];
    expect(tf.memory().numTensors).toBe(before);
    const tensors = [...batches(split, options)].length;
    expect(arrays).toHaveLength(tensors);
    let b = 0;
    for (const batch of batches(split, options)) {
      const plain = arrays[b++]!;
      expect(plain.size).toBe(batch.size);
      expect(plain.indices).toEqual(batch.indices);
      expect(plain.inputs).toEqual(batch.x.dataSync());
      expect(plain.labels).toEqual(batch.y.dataSync());
    }
  });

  it('leaks no tensors, also when the loop stops early or throws', () => {
    const before = tf.memory().numTensors;
    for (const batch of batches(split, { batchSize: 64 })) {
      expect(tf.memory().numTensors).toBe(before + 2);
      expect(batch.size).toBeGreaterThan(0);
    }
    expect(tf.memory().numTensors).toBe(before);

    let seen = 0;
    for (const _ of batches(split, { batchSize: 16, shuffle: true })) {
      if (++seen === 3) break;
    }
    expect(seen).toBe(3);
    expect(tf.memory().numTensors).toBe(before);

    expect(() => {
      for (const _ of batches(split, { batchSize: 16 })) throw new Error('consumer failed');
    }).toThrow('consumer failed');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('disposes the previous batch when the next one is requested', () => {
    const iterator = batches(split, { batchSize: 100 });
    const first = iterator.next().value!;
    expect(first.x.isDisposed).toBe(false);
    iterator.next();
    expect(first.x.isDisposed).toBe(true);
    expect(first.y.isDisposed).toBe(true);
    iterator.return(undefined);
  });

  it('rejects a split whose arrays do not match its count', () => {
    const broken = { ...split, count: COUNT + 1 };
    expect(() => [...batches(broken, { batchSize: 10 })]).toThrow(/needs .* inputs and 251 labels/);
  });
});
