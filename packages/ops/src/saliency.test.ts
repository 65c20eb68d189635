import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import './gradients';
import { InputShapeError, LeNet5 } from './model';
import { expectedOutputs, fixture } from './pytorch/__fixtures__/fixtures';
import { importPyTorchWeights } from './pytorch/pytorch-weights';
import { saliency } from './saliency';
import { seededRandom, useCpuBackend } from './test-utils/cpu';

useCpuBackend();

// Real MNIST test images (the first 8 of the test set, labels 7 2 1 0 4 1 4 9), resized to 32x32 by PIL
// as the seed's torchvision pipeline does, scaled to [0, 1] like ToTensor.
const { resized32, labels } = expectedOutputs();

function image(index: number): Float32Array {
  return Float32Array.from(resized32.subarray(index * 1024, (index + 1) * 1024), (b) => Math.fround(b / 255));
}

/** The model's logits for a batch of flat 32x32 images, as plain arrays. */
async function logitsOf(model: LeNet5, images: Float32Array[]): Promise<number[][]> {
  const flat = new Float32Array(images.length * 1024);
  for (const [i, values] of images.entries()) flat.set(values, i * 1024);
  const x = tf.tensor4d(flat, [images.length, 32, 32, 1]);
  const logits = model.forward(x);
  const rows = (await logits.array()) as number[][];
  tf.dispose([x, logits]);
  return rows;
}

/** Central differences (f(x + h e_i) - f(x - h e_i)) / 2h of `digit`'s logit, for each pixel in `pixels`. */
async function centralDifferences(
  model: LeNet5,
  x: Float32Array,
  digit: number,
  pixels: number[],
  h: number,
): Promise<number[]> {
  const shifted = pixels.flatMap((p) =>
    [h, -h].map((step) => {
      const copy = x.slice();
      copy[p] = copy[p]! + step;
      return copy;
    }),
  );
  const rows = await logitsOf(model, shifted);
  return pixels.map((_, i) => (rows[2 * i]![digit]! - rows[2 * i + 1]![digit]!) / (2 * h));
}

/** The `count` pixels with the largest |gradient|, and `count` more drawn among those above a tenth of it. */
function pixelsToCheck(gradient: Float32Array, count: number, seed: number): number[] {
  const order = [...gradient.keys()].sort((a, b) => Math.abs(gradient[b]!) - Math.abs(gradient[a]!));
  const largest = order.slice(0, count);
  const floor = Math.abs(gradient[order[0]!]!) / 10;
  const candidates = order.slice(count).filter((p) => Math.abs(gradient[p]!) > floor);
  const random = seededRandom(seed);
  const drawn = Array.from(
    { length: Math.min(count, candidates.length) },
    () => candidates.splice(Math.floor(random() * candidates.length), 1)[0]!,
  );
  return [...largest, ...drawn];
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

describe('saliency', () => {
  const seeded = LeNet5.create({ seed: 7 });
  const trained = importPyTorchWeights(fixture('seed-lenet5.pt')).model;
  afterAll(() => {
    seeded.dispose();
    trained.dispose();
  });

  it.each([
    ['a seeded model', () => seeded],
    ["the seed's trained PyTorch model", () => trained],
  ])('matches central finite differences of the logit on real MNIST digits (%s)', async (_, get) => {
    const model = get();
    for (const index of [0, 1]) {
      const x = image(index);
      const { digit, score, gradient } = await saliency(model, x);
      expect(score).toBeCloseTo((await logitsOf(model, [x]))[0]![digit]!, 5);

      const pixels = pixelsToCheck(gradient, 4, index + 1);
      expect(pixels.length).toBe(8);
      // float32 forward passes: h = 1e-2 keeps rounding (~1e-7 * |logit| / h) far below the tolerance, and
      // the O(h^2) truncation of a smooth tanh network too. 1% of a gradient at least a tenth of the largest
      // is far below what a wrong gradient (another class's, a transposed map, a missing factor) is off by.
      const fd = await centralDifferences(model, x, digit, pixels, 1e-2);
      pixels.forEach((p, i) => {
        const g = gradient[p]!;
        expect(Math.abs(fd[i]! - g), `pixel ${p}: gradient ${g}, finite difference ${fd[i]}`).toBeLessThan(
          1e-2 * Math.abs(g),
        );
      });

      // And along one random direction of all 1,024 pixels: (f(x + hv) - f(x - hv)) / 2h = gradient . v.
      const random = seededRandom(100 + index);
      const v = Float32Array.from({ length: 1024 }, () => random() - 0.5);
      const h = 1e-2;
      const [plus, minus] = await logitsOf(model, [
        x.map((p, i) => p + h * v[i]!),
        x.map((p, i) => p - h * v[i]!),
      ]);
      const directional = (plus![digit]! - minus![digit]!) / (2 * h);
      const dot = gradient.reduce((sum, g, i) => sum + g * v[i]!, 0);
      expect(Math.abs(directional - dot)).toBeLessThan(1e-2 * Math.abs(dot));
    }
  });

  it("explains the predicted digit (the argmax of predict), and the trained model's is the label", async () => {
    for (const model of [seeded, trained]) {
      for (const index of [0, 1, 2, 3]) {
        const x = image(index);
        const xt = tf.tensor4d(x, [1, 32, 32, 1]);
        const probabilities = model.predict(xt);
        const argMax = tf.argMax(probabilities, 1);
        const predicted = (await argMax.data())[0];
        const fromTensor = await saliency(model, xt);
        tf.dispose([xt, probabilities, argMax]);
        const fromArray = await saliency(model, x);
        expect(fromTensor.digit).toBe(predicted);
        expect(fromArray.digit).toBe(predicted);
        expect(fromArray.gradient).toEqual(fromTensor.gradient);
        if (model === trained) expect(fromArray.digit).toBe(labels[index]);
      }
    }
  });

  it('gives a gradient that is not zero and differs between two different digits', async () => {
    const seven = await saliency(trained, image(0));
    const two = await saliency(trained, image(1));
    expect([seven.digit, two.digit]).toEqual([7, 2]);
    for (const { gradient } of [seven, two]) {
      expect(gradient.length).toBe(1024);
      expect(gradient.every(Number.isFinite)).toBe(true);
      expect(Math.max(...gradient.map(Math.abs))).toBeGreaterThan(1e-2);
    }
    expect(Math.abs(cosine(seven.gradient, two.gradient))).toBeLessThan(0.5);

    // Another class of the same image has a map of its own.
    const asNine = await saliency(trained, image(0), { digit: 9 });
    expect(asNine.digit).toBe(9);
    expect(asNine.score).toBeLessThan(seven.score);
    expect(Math.abs(cosine(asNine.gradient, seven.gradient))).toBeLessThan(0.9);
  });

  it("uses the logit because the trained model's softmax saturates: its gradient all but vanishes", async () => {
    const x = image(0);
    const { digit, gradient } = await saliency(trained, x);
    const xt = tf.tensor4d(x, [1, 32, 32, 1]);
    const ofProbability = tf.grad((input: tf.Tensor) =>
      tf.reshape(tf.slice(trained.predict(input as tf.Tensor4D), [0, digit], [1, 1]), []),
    )(xt);
    const probabilityGradient = (await ofProbability.data()) as Float32Array;
    tf.dispose([xt, ofProbability]);
    const norm = (values: Float32Array) => Math.hypot(...values);
    // p = 0.99993 for this 7: d p = p (1 - p) d logit (plus the other classes' small share).
    expect(norm(probabilityGradient)).toBeLessThan(1e-3 * norm(gradient));
  });

  it('leaves tf.memory() as it was, also when it throws', async () => {
    const x = image(2);
    const xt = tf.tensor4d(x, [1, 32, 32, 1]);
    await saliency(seeded, x); // warm-up: the backend's first call may set up state of its own
    const before = tf.memory();
    await saliency(seeded, x);
    await saliency(seeded, xt, { digit: 3 });
    await expect(saliency(seeded, new Float32Array(100))).rejects.toThrow(InputShapeError);
    const batch = tf.zeros([2, 32, 32, 1]) as tf.Tensor4D;
    await expect(saliency(seeded, batch)).rejects.toThrow(/one image/);
    batch.dispose();
    await expect(saliency(seeded, x, { digit: 10 })).rejects.toThrow(RangeError);
    await expect(
      saliency(
        seeded,
        x.map(() => Number.NaN),
      ),
    ).rejects.toThrow(/not finite/);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(xt.isDisposed).toBe(false);
    xt.dispose();
  });
});
