import { describe, expect, it } from 'vitest';
import { AUGMENT_TRANSFORM_FLOATS, augmentTransforms, writeAugmentTransform } from './augment-transform';
import { type AugmentationParams, applyAugmentation, drawAugmentation } from './augmentation';
import { parseIdxImages } from './idx';
import { createRng } from './random';
import { DEFAULT_AUGMENTATION } from './recipes';
import { readRealMnistFile } from './test-utils/mnist-files';
import { DEFAULT_PREPROCESSING, pixelValue, preprocessImages } from './transforms';

const f = Math.fround;
const SIZE = 32;
const CENTER = (SIZE - 1) / 2;

/**
 * The source position of output pixel (x, y) as a float32 GPU computes it from a transform, in the order
 * of the AugmentBatch kernel's contract (@lenet/ops): the exact high part, then the low part.
 */
function float32Source(t: Float32Array, x: number, y: number) {
  const [aHigh, bHigh, txHigh, tyHigh, aLow, bLow, txLow, tyLow] = t;
  const u = f(x - CENTER);
  const v = f(y - CENTER);
  const highX = f(f(aHigh! * u) + f(f(bHigh! * v) + f(txHigh! + CENTER)));
  const lowX = f(f(aLow! * u) + f(f(bLow! * v) + txLow!));
  const highY = f(f(-bHigh! * u) + f(f(aHigh! * v) + f(tyHigh! + CENTER)));
  const lowY = f(f(-bLow! * u) + f(f(aLow! * v) + tyLow!));
  const x0 = Math.floor(f(highX + lowX));
  const y0 = Math.floor(f(highY + lowY));
  return { highX, highY, x0, y0, fx: f(f(highX - x0) + lowX), fy: f(f(highY - y0) + lowY) };
}

/** applyAugmentation's source position in float64. */
function float64Source(p: AugmentationParams, x: number, y: number) {
  const cos = Math.cos(p.angle) / p.zoom;
  const sin = Math.sin(p.angle) / p.zoom;
  const dx = x - CENTER - p.shiftX;
  const dy = y - CENTER - p.shiftY;
  return { sx: cos * dx + sin * dy + CENTER, sy: -sin * dx + cos * dy + CENTER };
}

describe('writeAugmentTransform', () => {
  const draws = (n: number, seed: number) => {
    const rng = createRng(seed);
    return Array.from({ length: n }, () => drawAugmentation(rng, DEFAULT_AUGMENTATION));
  };

  it('splits a, b, tx, ty into a high part on the 2^-12 grid and a small float32 rest', () => {
    for (const p of draws(500, 3)) {
      const t = new Float32Array(AUGMENT_TRANSFORM_FLOATS);
      writeAugmentTransform(p, t);
      const a = Math.cos(p.angle) / p.zoom;
      const b = Math.sin(p.angle) / p.zoom;
      const exact = [a, b, -(a * p.shiftX + b * p.shiftY), b * p.shiftX - a * p.shiftY];
      exact.forEach((value, i) => {
        expect(Number.isInteger(t[i]! * 4096)).toBe(true);
        expect(Math.abs(t[4 + i]!)).toBeLessThanOrEqual(2 ** -13);
        expect(Math.abs(t[i]! + t[4 + i]! - value)).toBeLessThan(1e-11);
      });
    }
  });

  it('lets float32 arithmetic find the float64 source position to 1e-6 of a pixel, the high part exactly', () => {
    let worst = 0;
    let inexactHighParts = 0;
    for (const p of draws(300, 5)) {
      const t = augmentTransforms([p]);
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const gpu = float32Source(t, x, y);
          const u = x - CENTER;
          const v = y - CENTER;
          // The high part of the sum is exact: float32 and float64 agree bit for bit.
          if (gpu.highX !== t[0]! * u + t[1]! * v + t[2]! + CENTER) inexactHighParts++;
          if (gpu.highY !== -t[1]! * u + t[0]! * v + t[3]! + CENTER) inexactHighParts++;
          const cpu = float64Source(p, x, y);
          worst = Math.max(worst, Math.abs(gpu.x0 + gpu.fx - cpu.sx), Math.abs(gpu.y0 + gpu.fy - cpu.sy));
        }
      }
    }
    expect(inexactHighParts).toBe(0);
    expect(worst).toBeLessThan(1e-6);
  });

  it('gives the images of applyAugmentation within 1e-5 when sampled in float32, on real MNIST', () => {
    const count = 200;
    const images = parseIdxImages(readRealMnistFile('trainImages'));
    const inputs = preprocessImages(images.pixels.subarray(0, count * 784), count, DEFAULT_PREPROCESSING);
    const background = pixelValue(0, DEFAULT_PREPROCESSING.normalize);
    const params = draws(count, 9);
    const transforms = augmentTransforms(params);
    const expected = new Float32Array(1024);
    let worst = 0;
    params.forEach((p, i) => {
      const src = inputs.subarray(i * 1024, (i + 1) * 1024);
      applyAugmentation(src, expected, p, background);
      const t = transforms.subarray(i * 8, (i + 1) * 8);
      const at = (x: number, y: number) =>
        x >= 0 && x < SIZE && y >= 0 && y < SIZE ? src[y * SIZE + x]! : background;
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const { x0, y0, fx, fy } = float32Source(t, x, y);
          const [p00, p01, p10, p11] = [at(x0, y0), at(x0 + 1, y0), at(x0, y0 + 1), at(x0 + 1, y0 + 1)];
          const top = f(p00 + f(f(p01 - p00) * fx));
          const bottom = f(p10 + f(f(p11 - p10) * fx));
          const value = f(top + f(f(bottom - top) * fy));
          worst = Math.max(worst, Math.abs(value - expected[y * SIZE + x]!));
        }
      }
    });
    expect(worst).toBeLessThan(1e-5);
    expect(worst).toBeGreaterThan(0);
  });

  it('refuses a zoom that is not positive and an array too short', () => {
    const t = new Float32Array(8);
    expect(() => writeAugmentTransform({ angle: 0, zoom: 0, shiftX: 0, shiftY: 0 }, t)).toThrow(/zoom/);
    expect(() => writeAugmentTransform({ angle: 0, zoom: 1, shiftX: 0, shiftY: 0 }, t, 1)).toThrow(
      /needs 8 floats at 1; the array holds 8/,
    );
  });
});
