import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { evaluate, type Mistake, predictProbabilities } from './evaluate';
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

/** Per example, straight from the logits in float64: the argmax, its softmax probability, the cross-entropy. */
async function directPerExample(model: LeNet5, batches: { x: tf.Tensor4D; y: tf.Tensor1D }[]) {
  const rows: { label: number; predicted: number; probability: number; loss: number }[] = [];
  for (const { x, y } of batches) {
    const logits = model.forward(x);
    const flat = await logits.data();
    const labels = await y.data();
    logits.dispose();
    for (let i = 0; i < labels.length; i++) {
      const z = Array.from(flat.slice(i * 10, i * 10 + 10));
      const max = Math.max(...z);
      const logSum = Math.log(z.reduce((sum, v) => sum + Math.exp(v - max), 0));
      const predicted = argMax(z);
      rows.push({
        label: labels[i]!,
        predicted,
        probability: Math.exp(z[predicted]! - max - logSum),
        loss: -(z[labels[i]!]! - max - logSum),
      });
    }
  }
  return rows;
}

describe('evaluate with options.mistakes', () => {
  // An untrained model on noise gets most examples wrong: plenty of mistakes to rank.
  const sizes = [9, 1, 16, 6];
  const makeBatches = () => sizes.map((n, i) => randomBatch(n, 20 + i));

  it('returns the worst N misclassified examples by loss, sorted, all wrong, indexed across batches', async () => {
    const model = LeNet5.create({ seed: 11 });
    const batches = makeBatches();
    const direct = await directPerExample(model, batches);
    const wrong = direct.map((d, index) => ({ ...d, index })).filter((d) => d.predicted !== d.label);
    expect(wrong.length).toBeGreaterThan(12);

    const before = tf.memory().numTensors;
    const result = await evaluate(model, batches, { mistakes: 12 });
    expect(tf.memory().numTensors).toBe(before);
    const mistakes = result.mistakes!;
    expect(mistakes).toHaveLength(12);
    expect(result.count - result.correct).toBe(wrong.length);

    for (const [k, m] of mistakes.entries()) {
      const d = direct[m.index]!;
      expect(m.label).toBe(d.label);
      expect(m.predicted).toBe(d.predicted);
      expect(m.predicted).not.toBe(m.label);
      expect(m.probability).toBeCloseTo(d.probability, 5);
      expect(m.loss).toBeCloseTo(d.loss, 4);
      if (k > 0) expect(m.loss).toBeLessThanOrEqual(mistakes[k - 1]!.loss);
    }
    expect(new Set(mistakes.map((m) => m.index)).size).toBe(12);
    // The kept ones are the worst: no wrong example left out has a higher loss (up to float32 rounding).
    const kept = new Set(mistakes.map((m) => m.index));
    const lowestKept = mistakes[mistakes.length - 1]!.loss;
    for (const d of wrong) if (!kept.has(d.index)) expect(d.loss).toBeLessThanOrEqual(lowestKept + 1e-5);
    // Indices span the batches: the worst 12 of 32 on noise are not all in the first batch.
    expect(mistakes.some((m) => m.index >= sizes[0]! + sizes[1]!)).toBe(true);

    // Asking for mistakes changes nothing else, bit for bit.
    const plain = await evaluate(model, batches);
    expect(plain).not.toHaveProperty('mistakes');
    const { mistakes: _, ...rest } = result;
    expect(rest).toEqual(plain);
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    model.dispose();
  });

  it('returns every mistake when N is larger, in the same order as a sort of the direct losses', async () => {
    const model = LeNet5.create({ seed: 12 });
    const batches = makeBatches();
    const direct = await directPerExample(model, batches);
    const result = await evaluate(model, batches, { mistakes: 1000 });
    const expected: Mistake[] = direct
      .map((d, index) => ({ ...d, index }))
      .filter((d) => d.predicted !== d.label)
      .sort((a, b) => b.loss - a.loss || a.index - b.index);
    expect(result.mistakes!.map((m) => m.index)).toEqual(expected.map((m) => m.index));
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    model.dispose();
  });

  it('returns no mistakes for a perfectly predicted set, and refuses a count that is not a whole number', async () => {
    const model = LeNet5.create({ seed: 13 });
    const { x } = randomBatch(5, 30);
    const y = tf.tensor1d((await predictProbabilities(model, x)).map(argMax), 'int32');
    const result = await evaluate(model, [{ x, y }], { mistakes: 40 });
    expect(result).toMatchObject({ correct: 5, mistakes: [] });
    expect(await evaluate(model, [{ x, y }], { mistakes: 0 })).not.toHaveProperty('mistakes');
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(evaluate(model, [{ x, y }], { mistakes: bad })).rejects.toThrow(
        /options.mistakes must be a whole number >= 0/,
      );
    }
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
