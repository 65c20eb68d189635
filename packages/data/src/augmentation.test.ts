import { describe, expect, it } from 'vitest';
import { type Augmentation, applyAugmentation, augmentImage, drawAugmentation } from './augmentation';
import { parseIdxImages } from './idx';
import { createRng } from './random';
import { DEFAULT_AUGMENTATION } from './recipes';
import { readRealMnistFile } from './test-utils/mnist-files';
import { MNIST_MEAN, MNIST_STD, pixelValue, preprocessImages } from './transforms';

const testImages = parseIdxImages(readRealMnistFile('testImages'));
const mnistImage = (i: number) => testImages.pixels.subarray(i * 784, (i + 1) * 784);

describe('augmentImage', () => {
  const normalize = { mean: MNIST_MEAN, std: MNIST_STD };
  const background = pixelValue(0, normalize);
  const src = preprocessImages(mnistImage(0), 1, { resize: 'pad', normalize });
  const strong: Augmentation = { maxShift: 3, maxRotateDeg: 15, scale: [0.9, 1.1] };

  it('is deterministic for a seed and changes the image', () => {
    const a = new Float32Array(1024);
    const b = new Float32Array(1024);
    augmentImage(src, a, createRng(7), strong, background);
    augmentImage(src, b, createRng(7), strong, background);
    expect(a).toEqual(b);
    expect(a).not.toEqual(src);
    const c = new Float32Array(1024);
    augmentImage(src, c, createRng(8), strong, background);
    expect(c).not.toEqual(a);
    // Bilinear sampling of values in [background, max] stays in that range.
    const max = Math.max(...src);
    for (const v of a) {
      expect(v).toBeGreaterThanOrEqual(background - 1e-5);
      expect(v).toBeLessThanOrEqual(max + 1e-5);
    }
  });

  it('with identity parameters gives the same image', () => {
    const out = new Float32Array(1024);
    augmentImage(src, out, createRng(1), { maxShift: 0, maxRotateDeg: 0, scale: [1, 1] }, background);
    expect(out).toEqual(src);
  });

  it('a shift fills the uncovered border with the background value', () => {
    const white = new Float32Array(1024).fill(1);
    const out = new Float32Array(1024);
    augmentImage(white, out, createRng(3), { maxShift: 4, maxRotateDeg: 0, scale: [1, 1] }, -1);
    expect(out.some((v) => v < 1)).toBe(true);
    // A shift of at most 4 px leaves the centre untouched.
    expect(out[16 * 32 + 16]).toBe(1);
  });
});

describe('drawAugmentation and applyAugmentation', () => {
  const normalize = { mean: MNIST_MEAN, std: MNIST_STD };
  const background = pixelValue(0, normalize);
  const count = 50;
  const inputs = preprocessImages(testImages.pixels.subarray(0, count * 784), count, {
    resize: 'pad',
    normalize,
  });

  it('are augmentImage in two steps: the same four draws, the same bits', () => {
    const whole = createRng(11);
    const drawn = createRng(11);
    const a = new Float32Array(1024);
    const b = new Float32Array(1024);
    for (let i = 0; i < count; i++) {
      const src = inputs.subarray(i * 1024, (i + 1) * 1024);
      augmentImage(src, a, whole, DEFAULT_AUGMENTATION, background);
      applyAugmentation(src, b, drawAugmentation(drawn, DEFAULT_AUGMENTATION), background);
      expect(b).toEqual(a);
    }
    // Both generators moved by exactly four numbers per image.
    expect(drawn.next()).toBe(whole.next());
  });

  it('draws within the ranges, in the order angle, zoom, shiftX, shiftY', () => {
    const a: Augmentation = { maxShift: 2, maxRotateDeg: 10, scale: [0.9, 1.1] };
    const rng = createRng(4);
    const reference = createRng(4);
    for (let i = 0; i < 200; i++) {
      const p = drawAugmentation(rng, a);
      const [r0, r1, r2, r3] = [reference.next(), reference.next(), reference.next(), reference.next()];
      expect(p.angle).toBe(((r0 * 2 - 1) * 10 * Math.PI) / 180);
      expect(p.zoom).toBe(0.9 + r1 * (1.1 - 0.9));
      expect(p.shiftX).toBe((r2 * 2 - 1) * 2);
      expect(p.shiftY).toBe((r3 * 2 - 1) * 2);
      expect(Math.abs(p.angle)).toBeLessThanOrEqual((10 * Math.PI) / 180);
    }
  });

  it('refuse a zoom that is not positive', () => {
    expect(() => drawAugmentation(createRng(1), { maxShift: 0, maxRotateDeg: 0, scale: [-1, 0] })).toThrow(
      /scale must be positive/,
    );
    const src = new Float32Array(1024);
    expect(() =>
      applyAugmentation(src, new Float32Array(1024), { angle: 0, zoom: 0, shiftX: 0, shiftY: 0 }, 0),
    ).toThrow(/zoom must be positive/);
    expect(() =>
      applyAugmentation(src, new Float32Array(10), { angle: 0, zoom: 1, shiftX: 0, shiftY: 0 }, 0),
    ).toThrow(/32x32 destination/);
  });
});
