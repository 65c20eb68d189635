import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import './gradients';
import { LeNet5, PARAM_NAMES } from './model';
import { randomBatch, useCpuBackend } from './test-utils/cpu';
import { createOptimizer, NonFiniteLossError, trainStep } from './train';

useCpuBackend();

// Batches stay tiny: the cpu backend's Conv2DBackpropFilter is slow (about 0.3 s per image).

describe('trainStep', () => {
  it('lowers the loss on a fixed batch and keeps tf.memory().numTensors constant from step 2 on', async () => {
    const model = LeNet5.create({ seed: 1 });
    const optimizer = createOptimizer('adam', 1e-2);
    const { x, y } = randomBatch(4, 1);
    const losses = [await trainStep(model, optimizer, x, y)];
    const afterFirstStep = tf.memory().numTensors;
    for (let step = 2; step <= 6; step++) {
      losses.push(await trainStep(model, optimizer, x, y));
      expect(tf.memory().numTensors, `tensors after step ${step}`).toBe(afterFirstStep);
    }
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    // A fresh model's loss is about ln(10); memorising 4 examples drives it well below.
    expect(losses[0]).toBeGreaterThan(1.5);
    expect(losses[5]!).toBeLessThan(0.7 * losses[0]!);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });

  it('works with every optimizer and returns the loss before the update', async () => {
    const { x, y } = randomBatch(2, 2);
    for (const name of ['sgd', 'momentum', 'adam'] as const) {
      const model = LeNet5.create({ seed: 2 });
      const optimizer = createOptimizer(name, 0.05);
      const before = await model.forward(x).data();
      const first = await trainStep(model, optimizer, x, y);
      const second = await trainStep(model, optimizer, x, y);
      expect(second, name).toBeLessThan(first);
      expect(await model.forward(x).data(), name).not.toEqual(before);
      optimizer.dispose();
      model.dispose();
    }
    tf.dispose([x, y]);
  });

  it('throws NonFiniteLossError on NaN input and leaves the weights unchanged', async () => {
    const model = LeNet5.create({ seed: 3 });
    const optimizer = createOptimizer('sgd', 1e-2);
    const { x, y } = randomBatch(2, 3);
    const nanImages = tf.fill([2, 32, 32, 1], Number.NaN) as tf.Tensor4D;
    await trainStep(model, optimizer, x, y);
    const weightsBefore = await Promise.all(PARAM_NAMES.map((n) => model.params[n].data()));
    const tensorsBefore = tf.memory().numTensors;

    const error = await trainStep(model, optimizer, nanImages, y).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as NonFiniteLossError).step).toBe(2);
    expect((error as Error).message).toMatch(/loss became NaN at training step 2/);
    expect((error as Error).message).toMatch(/learning rate/);
    // ops knows nothing of checkpoints; the trainer says whether one exists.
    expect((error as Error).message).not.toMatch(/checkpoint/);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const weightsAfter = await Promise.all(PARAM_NAMES.map((n) => model.params[n].data()));
    expect(weightsAfter).toEqual(weightsBefore);
    tf.dispose([x, y, nanImages]);
    optimizer.dispose();
    model.dispose();
  });

  it('throws NonFiniteLossError when a huge learning rate blows the weights up', async () => {
    const model = LeNet5.create({ seed: 4 });
    const optimizer = tf.train.sgd(1e38);
    const { x, y } = randomBatch(2, 4);
    let error: unknown;
    for (let step = 0; step < 5 && error === undefined; step++) {
      error = await trainStep(model, optimizer, x, y).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect(Number.isFinite((error as NonFiniteLossError).loss)).toBe(false);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });
});

describe('createOptimizer', () => {
  it('builds adam by default and rejects bad names and learning rates', () => {
    const adam = createOptimizer();
    expect(adam.getClassName()).toBe('Adam');
    expect(createOptimizer('momentum', 0.1).getClassName()).toBe('Momentum');
    expect(createOptimizer('sgd', 0.1).getClassName()).toBe('SGD');
    expect(() => createOptimizer('rmsprop' as never)).toThrow(
      /Unknown optimizer 'rmsprop'.*adam, sgd, momentum/,
    );
    expect(() => createOptimizer('adam', 0)).toThrow(/positive finite/);
    expect(() => createOptimizer('adam', Number.NaN)).toThrow(/positive finite/);
  });
});
