import { describe, expect, it } from 'vitest';
import { AUGMENT_TRANSFORM_FLOATS, augmentTransforms } from './augment-transform';
import { applyAugmentation, augmentImage } from './augmentation';
import { type BatchOptions, batchPlans } from './batch-plans';
import { batchArrays } from './batching';
import { parseIdxImages, parseIdxLabels } from './idx';
import type { PreparedSplit } from './prepared-split';
import { createRng, deriveSeed, shuffleInPlace } from './random';
import { DEFAULT_AUGMENTATION } from './recipes';
import { readRealMnistFile } from './test-utils/mnist-files';
import { DEFAULT_PREPROCESSING, pixelValue, preprocessImages } from './transforms';

const COUNT = 300;
const images = parseIdxImages(readRealMnistFile('trainImages'));
const labels = parseIdxLabels(readRealMnistFile('trainLabels'));
const split: PreparedSplit = {
  count: COUNT,
  inputs: preprocessImages(images.pixels.subarray(0, COUNT * 784), COUNT, DEFAULT_PREPROCESSING),
  labels: labels.labels.subarray(0, COUNT),
};
const augment = { ...DEFAULT_AUGMENTATION, background: pixelValue(0, DEFAULT_PREPROCESSING.normalize) };
const augmented: BatchOptions = { batchSize: 64, shuffle: true, seed: 7, epoch: 3, augment };

describe('batchPlans', () => {
  it('applied on the CPU are batchArrays, bit for bit', () => {
    const plans = [...batchPlans(split, augmented)];
    const arrays = [...batchArrays(split, augmented)];
    expect(plans.map((p) => p.size)).toEqual([64, 64, 64, 64, 44]);
    expect(arrays).toHaveLength(plans.length);
    plans.forEach((plan, b) => {
      const batch = arrays[b]!;
      expect(Uint32Array.from(plan.indices)).toEqual(batch.indices);
      expect(plan.labels).toEqual(batch.labels);
      const { params, transforms, background } = plan.augmentation!;
      expect(background).toBe(augment.background);
      expect(params).toHaveLength(plan.size);
      expect(transforms).toEqual(augmentTransforms(params));
      const inputs = new Float32Array(plan.size * 1024);
      for (let i = 0; i < plan.size; i++) {
        const example = plan.indices[i]!;
        applyAugmentation(
          split.inputs.subarray(example * 1024, (example + 1) * 1024),
          inputs.subarray(i * 1024, (i + 1) * 1024),
          params[i]!,
          background,
        );
        expect(plan.labels[i]).toBe(split.labels[example]);
      }
      expect(inputs).toEqual(batch.inputs);
    });
  });

  it('keep the order and the distortions of (seed, epoch): a shuffle from one stream, augmentImage from another', () => {
    // What checkpoints and resumed runs rely on, stated independently of the implementation.
    const order = Uint32Array.from({ length: COUNT }, (_, i) => i);
    shuffleInPlace(order, createRng(deriveSeed(7, 3, 1)));
    const rng = createRng(deriveSeed(7, 3, 2));
    const expected = new Float32Array(COUNT * 1024);
    order.forEach((example, i) => {
      augmentImage(
        split.inputs.subarray(example * 1024, (example + 1) * 1024),
        expected.subarray(i * 1024, (i + 1) * 1024),
        rng,
        augment,
        augment.background,
      );
    });
    const arrays = [...batchArrays(split, augmented)];
    expect(Uint32Array.from(arrays.flatMap((b) => [...b.indices]))).toEqual(order);
    const inputs = new Float32Array(COUNT * 1024);
    let offset = 0;
    for (const batch of arrays) {
      inputs.set(batch.inputs, offset);
      offset += batch.inputs.length;
    }
    expect(inputs).toEqual(expected);
  });

  it('carry no distortion without augment, and honour limit and dropLast as batchArrays does', () => {
    const plain = [...batchPlans(split, { batchSize: 100, shuffle: true, seed: 1 })];
    expect(plain.every((p) => p.augmentation === undefined)).toBe(true);
    const sizes = (options: BatchOptions) => [...batchPlans(split, options)].map((p) => p.size);
    expect(sizes({ batchSize: 64, limit: 100 })).toEqual([64, 36]);
    expect(sizes({ batchSize: 64, dropLast: true })).toEqual([64, 64, 64, 64]);
    expect(sizes({ batchSize: 64, limit: 100, dropLast: true })).toEqual([64]);
    const [first] = batchPlans(split, { ...augmented, limit: 10 });
    expect(first!.augmentation!.transforms).toHaveLength(10 * AUGMENT_TRANSFORM_FLOATS);
    expect(() => [...batchPlans(split, { batchSize: 0 })]).toThrow(/batchSize must be a positive integer/);
    expect(() => [...batchPlans({ ...split, count: COUNT + 1 }, { batchSize: 10 })]).toThrow(
      /needs .* inputs and 301 labels/,
    );
  });
});
