import { loadEmbeddedMnist } from '@lenet/data/node';
import { describe, expect, it } from 'vitest';
import {
  boundingBox,
  centreByMass,
  centreOfMass,
  cropAndFit,
  type ImageDataLike,
  inkFromImageData,
  preprocessDrawing,
} from './preprocess';
import { DEFAULT_PREPROCESSING } from './weights';

/** A transparent RGBA canvas with opaque ink wherever `inked(x, y)` holds. */
function canvas(width: number, height: number, inked: (x: number, y: number) => boolean): ImageDataLike {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (inked(x, y)) data.set([20, 20, 20, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

describe('preprocessDrawing', () => {
  it('centres a large off-centre drawing and sizes it like MNIST', () => {
    // A thick ellipse outline (a "0"), 120 wide and 180 tall, in the top-left corner of a 400x300 pad.
    const cx = 80;
    const cy = 100;
    const image = canvas(400, 300, (x, y) => {
      const r = Math.hypot((x - cx) / 60, (y - cy) / 90);
      return r <= 1 && r >= 0.75;
    });
    const steps = preprocessDrawing(image, DEFAULT_PREPROCESSING)!;

    expect(steps.box).toEqual({ x: 20, y: 10, width: 121, height: 181 });
    // Longer side 20, aspect ratio kept: 121/181*20 = 13.4 -> 13.
    expect([steps.fitted.width, steps.fitted.height]).toEqual([13, 20]);

    const { centred } = steps;
    expect([centred.width, centred.height]).toEqual([28, 28]);
    const mass = centreOfMass(centred)!;
    expect(Math.abs(mass.x - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(mass.y - 13.5)).toBeLessThanOrEqual(0.5);
    const box = boundingBox(centred)!;
    expect(Math.max(box.width, box.height)).toBe(20);
    expect(box.width).toBe(13);
    // A ring: the middle is empty, the stroke is solid ink.
    expect(centred.pixels[13 * 28 + 14]).toBe(0);
    expect(Math.max(...centred.pixels)).toBe(255);

    // The 32x32 input: padded by 2 and normalised like the trainer's default recipe.
    expect(steps.input.length).toBe(32 * 32);
    const background = (0 - 0.1307) / 0.3081;
    expect(steps.input[0]).toBeCloseTo(background, 5);
    expect(steps.input[(2 + 13) * 32 + 2 + 14]).toBeCloseTo(background, 5);
  });

  it('gives back a real MNIST digit when it is drawn 8x larger somewhere else', async () => {
    const { test } = await loadEmbeddedMnist();
    let closeMatches = 0;
    const count = 20;
    for (let i = 0; i < count; i++) {
      const digit = test.images.subarray(i * 784, (i + 1) * 784);
      // White on black, 8x nearest-neighbour, at (100, 37) on a 400x300 black pad.
      const data = new Uint8ClampedArray(400 * 300 * 4);
      for (let y = 0; y < 300; y++) {
        for (let x = 0; x < 400; x++) {
          const sx = Math.floor((x - 100) / 8);
          const sy = Math.floor((y - 37) / 8);
          const v = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? digit[sy * 28 + sx]! : 0;
          data.set([v, v, v, 255], (y * 400 + x) * 4);
        }
      }
      const steps = preprocessDrawing(
        { width: 400, height: 300, data },
        DEFAULT_PREPROCESSING,
        'light-on-dark',
      )!;
      // MNIST centred by a fractional shift; ours shifts by whole pixels, so allow the best of +-1 px.
      let best = Number.POSITIVE_INFINITY;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++)
          best = Math.min(best, meanAbsDiff(steps.centred.pixels, digit, dx, dy));
      }
      if (best < 3) closeMatches++;
    }
    // MNIST's 20x20 box is not exact for every digit (some are 19 or 21 px); nearly all come back unchanged.
    expect(closeMatches).toBeGreaterThanOrEqual(count - 3);
  });

  it('returns null for an empty pad', () => {
    expect(
      preprocessDrawing(
        canvas(50, 50, () => false),
        DEFAULT_PREPROCESSING,
      ),
    ).toBeNull();
  });
});

/** Mean absolute difference of two 28x28 images with `b` shifted by (dx, dy). */
function meanAbsDiff(a: Uint8Array, b: Uint8Array, dx: number, dy: number): number {
  let sum = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const bx = x - dx;
      const by = y - dy;
      const vb = bx >= 0 && bx < 28 && by >= 0 && by < 28 ? b[by * 28 + bx]! : 0;
      sum += Math.abs(a[y * 28 + x]! - vb);
    }
  }
  return sum / 784;
}

describe('the steps', () => {
  it('reads ink from alpha, light-on-dark and dark-on-light pictures', () => {
    const rgba = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 0]);
    const image = { width: 3, height: 1, data: rgba };
    expect([...inkFromImageData(image, 'alpha').pixels]).toEqual([255, 255, 0]);
    expect([...inkFromImageData(image, 'light-on-dark').pixels]).toEqual([255, 0, 0]);
    expect([...inkFromImageData(image, 'dark-on-light').pixels]).toEqual([0, 255, 0]);
    expect(() => inkFromImageData({ width: 2, height: 2, data: rgba })).toThrow(/RGBA/);
  });

  it('averages areas when scaling, so a 1-px line at 1/2 scale is half as bright', () => {
    // A 40x10 picture with one bright column: scaled to 20x5, it becomes one column at half intensity.
    const pixels = new Uint8Array(40 * 10);
    for (let y = 0; y < 10; y++) pixels[y * 40 + 10] = 255;
    const fitted = cropAndFit({ width: 40, height: 10, pixels }, { x: 0, y: 0, width: 40, height: 10 });
    expect([fitted.width, fitted.height]).toEqual([20, 5]);
    expect(fitted.pixels[5]).toBe(128);
    expect(fitted.pixels.reduce((a, b) => a + b, 0)).toBe(128 * 5);
  });

  it('scales tiny drawings up to the 20-pixel box', () => {
    const pixels = new Uint8Array(5 * 4).fill(200);
    const fitted = cropAndFit({ width: 5, height: 4, pixels }, { x: 0, y: 0, width: 5, height: 4 });
    expect([fitted.width, fitted.height]).toEqual([20, 16]);
    expect(new Set(fitted.pixels)).toEqual(new Set([200]));
  });

  it('never shifts a digit out of the 28x28 field', () => {
    // All mass at the right edge of a 20-wide digit: centring by mass would push it off the left side.
    const pixels = new Uint8Array(20 * 20);
    for (let y = 0; y < 20; y++) pixels[y * 20 + 19] = 255;
    pixels[0] = 1;
    const centred = centreByMass({ width: 20, height: 20, pixels });
    expect(boundingBox(centred)).toEqual({ x: 0, y: 4, width: 20, height: 20 });
    expect(() => centreByMass({ width: 30, height: 2, pixels: new Uint8Array(60) })).toThrow(/fit it first/);
  });
});
