import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy, logSoftmax, softmax } from './loss';
import { seededRandom, useCpuBackend } from './test-utils/cpu';

useCpuBackend();

/** Softmax of one row in float64, the reference the float32 results are compared with. */
function softmax64(row: number[]): number[] {
  const max = Math.max(...row);
  const exps = row.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function randomLogits(rows: number, cols: number, seed: number, scale = 4): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (random() * 2 - 1) * scale));
}

describe('softmax and logSoftmax', () => {
  it('match a float64 reference on small random logits', async () => {
    const rows = randomLogits(6, 10, 1);
    const logits = tf.tensor2d(rows);
    const probs = (await softmax(logits).array()) as number[][];
    const logProbs = (await logSoftmax(logits).array()) as number[][];
    rows.forEach((row, i) => {
      softmax64(row).forEach((p, j) => {
        expect(Math.abs(probs[i]![j]! - p)).toBeLessThan(1e-6);
        expect(Math.abs(logProbs[i]![j]! - Math.log(p))).toBeLessThan(1e-5);
      });
    });
    logits.dispose();
  });

  it('stay finite and exact for logits of ±1e4 (a naive exp overflows to NaN)', async () => {
    const logits = tf.tensor2d([
      [1e4, 0, -1e4],
      [1e4, 1e4, 0],
      [-1e4, -1e4, -1e4],
    ]);
    expect(await softmax(logits).array()).toEqual([
      [1, 0, 0],
      [0.5, 0.5, 0],
      [1 / 3, 1 / 3, 1 / 3].map(Math.fround),
    ]);
    const logProbs = (await logSoftmax(logits).array()) as number[][];
    expect(logProbs[0]).toEqual([0, -1e4, -2e4]);
    expect(logProbs[1]![0]).toBeCloseTo(-Math.LN2, 6);
    expect(logProbs[1]![2]).toBeCloseTo(-1e4 - Math.LN2, 2);
    // The naive formula really does fail on these inputs, so the test above is meaningful.
    const naive = await tf.div(tf.exp(logits), tf.sum(tf.exp(logits), 1, true)).data();
    expect(Array.from(naive).some(Number.isNaN)).toBe(true);
    logits.dispose();
  });

  it('leave no tensors behind and reject non-matrix input', () => {
    const logits = tf.tensor2d(randomLogits(2, 10, 2));
    const before = tf.memory().numTensors;
    softmax(logits).dispose();
    logSoftmax(logits).dispose();
    expect(tf.memory().numTensors).toBe(before);
    const vector = tf.tensor1d([1, 2, 3]);
    expect(() => softmax(vector as unknown as tf.Tensor2D)).toThrow(/shape \[n, classes\]; got \[3\]/);
    tf.dispose([logits, vector]);
  });
});

describe('crossEntropy', () => {
  it('equals the mean of -log softmax[label] computed in float64', async () => {
    const rows = randomLogits(5, 10, 3);
    const labels = [3, 0, 9, 9, 4];
    const loss = crossEntropy(tf.tensor2d(rows), tf.tensor1d(labels, 'int32'));
    const expected =
      rows.reduce((sum, row, i) => sum - Math.log(softmax64(row)[labels[i]!]!), 0) / rows.length;
    expect(loss.shape).toEqual([]);
    expect(Math.abs((await loss.data())[0]! - expected)).toBeLessThan(1e-5);
  });

  it('is finite and exact for logits of ±1e4', async () => {
    const logits = tf.tensor2d([
      [1e4, -1e4],
      [1e4, -1e4],
    ]);
    const loss = crossEntropy(logits, tf.tensor1d([0, 1], 'int32'));
    // Row 1 is certain and right (loss 0), row 2 certain and wrong (loss 2e4): mean 1e4.
    expect((await loss.data())[0]).toBe(1e4);
  });

  it('has the gradient (softmax - oneHot) / n w.r.t. the logits, and agrees with finite differences', async () => {
    const rows = randomLogits(3, 10, 4, 2);
    const labels = tf.tensor1d([1, 7, 7], 'int32');
    const logits = tf.tensor2d(rows);
    const gradient = (await tf
      .grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, labels))(logits)
      .array()) as number[][];

    rows.forEach((row, i) => {
      softmax64(row).forEach((p, j) => {
        const expected = (p - (j === [1, 7, 7][i] ? 1 : 0)) / rows.length;
        expect(Math.abs(gradient[i]![j]! - expected)).toBeLessThan(1e-6);
      });
    });

    // Central differences on the float32 loss: eps 1e-2 balances truncation against float32 rounding.
    const eps = 1e-2;
    const lossAt = async (i: number, j: number, delta: number) => {
      const shifted = rows.map((r) => r.slice());
      shifted[i]![j]! += delta;
      return (await crossEntropy(tf.tensor2d(shifted), labels).data())[0]!;
    };
    for (const [i, j] of [
      [0, 1],
      [0, 4],
      [1, 7],
      [2, 0],
      [2, 9],
    ] as const) {
      const numeric = ((await lossAt(i, j, eps)) - (await lossAt(i, j, -eps))) / (2 * eps);
      expect(Math.abs(numeric - gradient[i]![j]!)).toBeLessThan(1e-4 + 1e-2 * Math.abs(gradient[i]![j]!));
    }
  });

  it('leaves no tensors behind, also when its gradient is taken', () => {
    const logits = tf.tensor2d(randomLogits(4, 10, 5));
    const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
    const before = tf.memory().numTensors;
    crossEntropy(logits, labels).dispose();
    tf.grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, labels))(logits).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, labels]);
  });

  it('rejects labels of the wrong shape or dtype with a message saying what to pass', () => {
    const logits = tf.zeros([2, 10]) as tf.Tensor2D;
    const tooMany = tf.tensor1d([1, 2, 3], 'int32');
    const floats = tf.tensor1d([1, 2]);
    expect(() => crossEntropy(logits, tooMany)).toThrow(/labels must have shape \[2\].*got \[3\]/);
    expect(() => crossEntropy(logits, floats)).toThrow(/int32 class ids; got float32/);
    tf.dispose([logits, tooMany, floats]);
  });
});
