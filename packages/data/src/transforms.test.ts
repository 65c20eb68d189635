import { describe, expect, it } from 'vitest';
import fixture from './__fixtures__/pil-bilinear-28-to-32.json';
import { parseIdxImages } from './idx';
import { readRealMnistFile } from './test-utils/mnist-files';
import {
  DEFAULT_PREPROCESSING,
  MNIST_MEAN,
  MNIST_STD,
  pad28To32,
  pixelValue,
  preprocessImages,
  resizeBilinear28To32,
  SEED_PREPROCESSING,
} from './transforms';

const testImages = parseIdxImages(readRealMnistFile('testImages'));
const mnistImage = (i: number) => testImages.pixels.subarray(i * 784, (i + 1) * 784);
const fromBase64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe('pad28To32', () => {
  it('puts the image in the middle with a 2-pixel black border', () => {
    const src = Uint8Array.from({ length: 784 }, (_, i) => 1 + (i % 255));
    const out = pad28To32(src);
    expect(out.length).toBe(1024);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        expect(out[y * 32 + x]).toBe(inside ? src[(y - 2) * 28 + (x - 2)] : 0);
      }
    }
  });

  it('rejects an image of the wrong size', () => {
    expect(() => pad28To32(new Uint8Array(1024))).toThrow(/28x28/);
  });
});

describe('resizeBilinear28To32 matches Pillow (torchvision Resize) exactly', () => {
  it(`on the fixture from ${fixture.generator}`, () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(5);
    for (const c of fixture.cases) {
      const src = 'input' in c && c.input ? fromBase64(c.input) : mnistImage(c.mnistTestIndex!);
      const expected = fromBase64(c.expected);
      expect(expected.length).toBe(1024);
      expect(resizeBilinear28To32(src)).toEqual(expected);
    }
  });

  it('is not the same as padding, and keeps a black image black and a white image white', () => {
    expect(resizeBilinear28To32(mnistImage(0))).not.toEqual(pad28To32(mnistImage(0)));
    expect(resizeBilinear28To32(new Uint8Array(784)).every((v) => v === 0)).toBe(true);
    expect(resizeBilinear28To32(new Uint8Array(784).fill(255)).every((v) => v === 255)).toBe(true);
  });
});

describe('preprocessImages', () => {
  const count = 3;
  const images = testImages.pixels.subarray(0, count * 784);

  it('pads and scales to [0,1] without normalisation', () => {
    const out = preprocessImages(images, count, { resize: 'pad', normalize: null });
    expect(out.length).toBe(count * 1024);
    const padded = pad28To32(mnistImage(2));
    for (let j = 0; j < 1024; j++) expect(out[2 * 1024 + j]).toBe(Math.fround(padded[j]! / 255));
  });

  it('normalises with (v/255 - mean) / std', () => {
    const normalize = { mean: MNIST_MEAN, std: MNIST_STD };
    const out = preprocessImages(images, count, { resize: 'bilinear', normalize });
    const resized = resizeBilinear28To32(mnistImage(1));
    for (let j = 0; j < 1024; j++)
      expect(out[1024 + j]).toBeCloseTo((resized[j]! / 255 - 0.1307) / 0.3081, 6);
    expect(pixelValue(0, normalize)).toBeCloseTo(-0.1307 / 0.3081, 6);
    expect(pixelValue(255, normalize)).toBeCloseTo((1 - 0.1307) / 0.3081, 6);
    expect(Math.min(...out)).toBeCloseTo(-0.42421, 4);
  });

  it('checks the input length and the std', () => {
    expect(() => preprocessImages(images, 4, { resize: 'pad', normalize: null })).toThrow(
      /4 images of 28x28/,
    );
    expect(() => preprocessImages(images, 3, { resize: 'pad', normalize: { mean: 0, std: 0 } })).toThrow(
      /std/,
    );
  });
});

describe('the preprocessing presets', () => {
  const count = 2;
  const images = testImages.pixels.subarray(0, count * 784);

  it("DEFAULT_PREPROCESSING pads, then normalises with torchvision's MNIST mean and std", () => {
    expect(DEFAULT_PREPROCESSING).toEqual({ resize: 'pad', normalize: { mean: 0.1307, std: 0.3081 } });
    const out = preprocessImages(images, count, DEFAULT_PREPROCESSING);
    const padded = pad28To32(mnistImage(1));
    for (let j = 0; j < 1024; j++) expect(out[1024 + j]).toBeCloseTo((padded[j]! / 255 - 0.1307) / 0.3081, 6);
    // The 2-pixel border is black: the normalised value of 0.
    expect(out[1024]).toBeCloseTo(-0.1307 / 0.3081, 6);
  });

  it('SEED_PREPROCESSING resizes as torchvision does and keeps [0, 1]', () => {
    expect(SEED_PREPROCESSING).toEqual({ resize: 'bilinear', normalize: null });
    const out = preprocessImages(images, count, SEED_PREPROCESSING);
    const resized = resizeBilinear28To32(mnistImage(0));
    for (let j = 0; j < 1024; j++) expect(out[j]).toBe(Math.fround(resized[j]! / 255));
  });

  it('cannot be changed by one user under another', () => {
    expect(() => {
      (DEFAULT_PREPROCESSING as { resize: string }).resize = 'bilinear';
    }).toThrow(TypeError);
    expect(() => {
      (DEFAULT_PREPROCESSING.normalize as { mean: number }).mean = 0;
    }).toThrow(TypeError);
    expect(() => {
      (SEED_PREPROCESSING as { normalize: unknown }).normalize = { mean: 0, std: 1 };
    }).toThrow(TypeError);
    expect(DEFAULT_PREPROCESSING.normalize).toEqual({ mean: MNIST_MEAN, std: MNIST_STD });
  });
});
