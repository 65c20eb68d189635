import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { evaluate, predictProbabilities } from './evaluate';
import { crossEntropy } from './loss';
import { LeNet5 } from './model';
import { randomBatch, useCpuBackend } from './test-utils/cpu';

useCpuBackend();

function argMax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe('evaluate', () => {
  it('agrees with predictions and the loss computed on the whole set at once, over uneven batches', async () => {
    const model = LeNet5.create({ seed: 5 });
    // Uneven sizes check that the mean loss weights each batch by its size.
    const batches = [randomBatch(5, 1), randomBatch(2, 2), randomBatch(7, 3)];
    const before = tf.memory().numTensors;
    const result = await evaluate(model, batches);
    expect(tf.memory().numTensors).toBe(before);
    for (const b of batches) expect(b.x.isDisposed || b.y.isDisposed).toBe(false);

    const labels: number[] = [];
    const predicted: number[] = [];
    for (const b of batches) {
      labels.push(...(await b.y.data()));
      for (const row of await predictProbabilities(model, b.x)) predicted.push(argMax(row));
    }
    const expectedConfusion = Array.from({ length: 10 }, () => new Array(10).fill(0));
    labels.forEach((label, i) => {
      expectedConfusion[label]![predicted[i]!]++;
    });
    const expectedCorrect = labels.filter((label, i) => label === predicted[i]).length;

    expect(result.count).toBe(14);
    expect(result.confusion).toEqual(expectedConfusion);
    expect(result.correct).toBe(expectedCorrect);
    expect(result.accuracy).toBe(expectedCorrect / 14);

    const allX = tf.concat(batches.map((b) => b.x)) as tf.Tensor4D;
    const allY = tf.concat(batches.map((b) => b.y)) as tf.Tensor1D;
    const wholeLoss = (await crossEntropy(model.forward(allX), allY).data())[0]!;
    expect(result.loss).toBeCloseTo(wholeLoss, 5);
    model.dispose();
  });

  it('accepts async iterables, and reports a perfectly predicted set as accuracy 1', async () => {
    const model = LeNet5.create({ seed: 6 });
    const { x } = randomBatch(6, 4);
    // Label each image with the model's own prediction, so every example is correct.
    const guesses = (await predictProbabilities(model, x)).map(argMax);
    const y = tf.tensor1d(guesses, 'int32');
    async function* oneBatch() {
      yield { x, y };
    }
    const result = await evaluate(model, oneBatch());
    expect(result).toMatchObject({ count: 6, correct: 6, accuracy: 1 });
    for (const g of guesses) expect(result.confusion[g]![g]).toBeGreaterThan(0);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('rejects an empty data set and out-of-range labels', async () => {
    const model = LeNet5.create();
    await expect(evaluate(model, [])).rejects.toThrow(/no examples/);
    const { x } = randomBatch(2, 5);
    const y = tf.tensor1d([3, 12], 'int32');
    await expect(evaluate(model, [{ x, y }])).rejects.toThrow(/label 12 at row 1 .* not a class id 0-9/);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('predictProbabilities', () => {
  it('returns one row of 10 probabilities per image, equal to predict, without leaking', async () => {
    const model = LeNet5.create({ seed: 7 });
    const { x } = randomBatch(3, 6);
    const before = tf.memory().numTensors;
    const rows = await predictProbabilities(model, x);
    expect(tf.memory().numTensors).toBe(before);
    expect(rows).toHaveLength(3);
    const probs = model.predict(x);
    const flat = await probs.data();
    rows.forEach((row, i) => {
      expect(row).toEqual(flat.slice(i * 10, i * 10 + 10));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    });
    tf.dispose([x, probs]);
    model.dispose();
  });
});
