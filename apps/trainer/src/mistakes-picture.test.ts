import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PREPROCESSING, type GrayImage, prepareSplit } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { readPngGray } from '@lenet/node';
import { evaluate, LeNet5, type Mistake } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluationBatches } from './dataset';
import {
  mistakeLabel,
  mistakesPicture,
  mistakesPictureSize,
  modelInputDigits,
  rawDigits,
  writeMistakesPicture,
} from './mistakes-picture';

// The layout mistakes-picture.ts draws: 28x28 digits scaled 3x over a 14-pixel label strip, 8 tiles a
// row, 2 pixels of gray between tiles.
const TILE_W = 84;
const TILE_H = 98;
const PAD = 2;

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'lenet-mistakes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pixels of tile `k` of a picture, from `y0` to `y1` within the tile. */
function tileRows(picture: GrayImage, k: number, y0: number, y1: number): number[] {
  const left = PAD + (k % 8) * (TILE_W + PAD);
  const top = PAD + Math.floor(k / 8) * (TILE_H + PAD);
  const out: number[] = [];
  for (let y = top + y0; y < top + y1; y++) {
    out.push(...picture.pixels.subarray(y * picture.width + left, y * picture.width + left + TILE_W));
  }
  return out;
}
const strip = (picture: GrayImage, k: number) => tileRows(picture, k, 84, TILE_H);
const digitArea = (picture: GrayImage, k: number) => tileRows(picture, k, 0, 84);

/** `n` 28x28 test images, image i a gradient that starts at 10 * i, so each is different. */
function syntheticImages(n: number): Uint8Array {
  return Uint8Array.from({ length: n * 784 }, (_, j) => (10 * Math.floor(j / 784) + (j % 784)) % 256);
}

function mistake(index: number, label: number, predicted: number, probability: number): Mistake {
  return { index, label, predicted, probability, loss: 10 - index / 10 };
}

describe('report/mistakes.png', () => {
  it('draws each mistake 3x over its own label, 8 a row, and writes a PNG of that size', async () => {
    const images = syntheticImages(12);
    const mistakes = [
      mistake(3, 7, 2, 0.934),
      mistake(0, 7, 2, 0.934),
      mistake(5, 4, 9, 0.51),
      mistake(11, 1, 7, 1),
      mistake(8, 9, 4, 0.05),
      mistake(2, 3, 5, 0.5),
      mistake(6, 0, 6, 0.2),
      mistake(7, 8, 3, 0.33),
      mistake(1, 5, 3, 0.7),
      mistake(4, 6, 0, 0.61),
    ];
    expect(mistakes.map(mistakeLabel).slice(0, 5)).toEqual([
      '7>2 93%',
      '7>2 93%',
      '4>9 51%',
      '1>7 100%',
      '9>4 5%',
    ]);

    const path = join(dir, 'mistakes.png');
    const drawn = await writeMistakesPicture(path, mistakes, rawDigits(images));
    const picture = await readPngGray(path);
    expect(picture).toEqual(drawn);
    // 10 tiles: a full row of 8 and a second row.
    expect({ width: picture.width, height: picture.height }).toEqual({
      width: 8 * 86 + 2,
      height: 2 * 100 + 2,
    });
    expect(mistakesPictureSize(10)).toEqual({ width: picture.width, height: picture.height });

    // Every digit is its image, each pixel a 3x3 block.
    mistakes.forEach((m, k) => {
      const area = digitArea(picture, k);
      for (let y = 0; y < 84; y++) {
        for (let x = 0; x < 84; x++) {
          const expected = images[m.index * 784 + Math.floor(y / 3) * 28 + Math.floor(x / 3)];
          if (area[y * 84 + x] !== expected)
            throw new Error(`tile ${k}: pixel ${x},${y} is not image ${m.index}'s`);
        }
      }
    });
    // The labels: text is drawn (white pixels on black), the same text gives the same pixels, and every
    // different label gives different pixels.
    const strips = mistakes.map((_, k) => strip(picture, k).join(','));
    for (const s of strips) expect(s).toMatch(/255/);
    expect(strips[0]).toBe(strips[1]);
    expect(new Set(strips.slice(1)).size).toBe(mistakes.length - 1);
    // Gray between tiles.
    expect(picture.pixels[0]).toBe(128);
  });

  it('says NONE in one tile when there are no mistakes, and lays out fewer than 8 in one row', () => {
    const none = mistakesPicture([], rawDigits(syntheticImages(1)));
    expect({ width: none.width, height: none.height }).toEqual(mistakesPictureSize(0));
    expect(mistakesPictureSize(0)).toEqual({ width: 88, height: 102 });
    expect(none.pixels.filter((v) => v === 255).length).toBeGreaterThan(100);
    expect(mistakesPictureSize(3)).toEqual({ width: 3 * 86 + 2, height: 102 });
    expect(mistakesPictureSize(40)).toEqual({ width: 690, height: 502 });
  });

  it('refuses a mistake whose index is not a test image', () => {
    expect(() => mistakesPicture([mistake(2, 1, 2, 0.5)], rawDigits(syntheticImages(2)))).toThrow(
      /test image 2 is not among the 2 images/,
    );
  });
});

describe('mistakes on real MNIST', () => {
  it("draws evaluate's worst 40 from the raw test images; the model inputs give the same digits", async () => {
    const mnist = await loadEmbeddedMnist();
    const test = prepareSplit(mnist.test, DEFAULT_PREPROCESSING, 600);
    // An untrained LeNet-5 gets most digits wrong: plenty of mistakes, spread over the batches.
    const model = LeNet5.create({ seed: 3 });
    const result = await evaluate(model, evaluationBatches(test, 128), { mistakes: 40 });
    model.dispose();
    const mistakes = result.mistakes!;
    expect(mistakes).toHaveLength(40);
    for (const m of mistakes) {
      expect(m.index).toBeLessThan(600);
      expect(m.label).toBe(mnist.test.labels[m.index]);
      expect(m.predicted).not.toBe(m.label);
    }

    const picture = mistakesPicture(mistakes, rawDigits(mnist.test.images));
    expect({ width: picture.width, height: picture.height }).toEqual({ width: 690, height: 502 });
    // The first tile's top-left 3x3 block is the first pixel of its test image, and so on for its row.
    const first = digitArea(picture, 0);
    for (let x = 0; x < 28; x++)
      expect(first[14 * 3 * 84 + 3 * x]).toBe(mnist.test.images[mistakes[0]!.index * 784 + 14 * 28 + x]);

    // Without the raw bytes (lenet train's fallback), the padded, normalised inputs give back the
    // same digits up to rounding.
    const fromInputs = mistakesPicture(mistakes, modelInputDigits(test.inputs));
    let largest = 0;
    for (let i = 0; i < picture.pixels.length; i++) {
      largest = Math.max(largest, Math.abs(picture.pixels[i]! - fromInputs.pixels[i]!));
    }
    expect(largest).toBeLessThanOrEqual(1);
  });
});
