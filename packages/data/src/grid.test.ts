import { describe, expect, it } from 'vitest';
import { makeGrid } from './grid';
import { parseIdxImages } from './idx';
import { readRealMnistFile } from './test-utils/mnist-files';

const test = parseIdxImages(readRealMnistFile('testImages'));

describe('makeGrid', () => {
  it("the seed's grid of 40 MNIST images, 8 per row, padding 2 is 242 x 152 with each image in place", () => {
    const images = test.pixels.subarray(0, 40 * 784);
    const grid = makeGrid(images, 40, 28, 28);
    expect([grid.width, grid.height]).toEqual([242, 152]);
    expect(grid.pixels.length).toBe(242 * 152);
    for (let k = 0; k < 40; k++) {
      const top = 2 + Math.floor(k / 8) * 30;
      const left = 2 + (k % 8) * 30;
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          expect(grid.pixels[(top + y) * 242 + left + x]).toBe(images[k * 784 + y * 28 + x]);
        }
      }
    }
    // The padding lines between images stay at the pad value.
    for (let x = 0; x < 242; x++) expect(grid.pixels[x]).toBe(0);
    for (let y = 0; y < 152; y++) expect(grid.pixels[y * 242 + 30]).toBe(0);
  });

  it('uses min(nrow, n) columns and ceil(n / columns) rows', () => {
    const one = new Uint8Array(4 * 3 * 2).fill(9);
    const narrow = makeGrid(one, 4, 3, 2, { nrow: 8, padding: 1, padValue: 1 });
    // 4 columns of width 2 (+1 padding) + 1 = 13; 1 row of height 3 (+1) + 1 = 5.
    expect([narrow.width, narrow.height]).toEqual([13, 5]);
    expect(narrow.pixels[0]).toBe(255);
    expect(narrow.pixels[1 * 13 + 1]).toBe(9);
    const tall = makeGrid(new Uint8Array(5 * 4), 5, 2, 2, { nrow: 2, padding: 0 });
    expect([tall.width, tall.height]).toEqual([4, 6]);
  });

  it('converts floats in [0,1] to bytes, or stretches them with normalize', () => {
    const floats = Float32Array.from([0, 0.5, 1, 0.25]);
    expect(Array.from(makeGrid(floats, 1, 2, 2, { padding: 0 }).pixels)).toEqual([0, 128, 255, 64]);
    const shifted = Float32Array.from([-1, 0, 1, -0.5]);
    expect(Array.from(makeGrid(shifted, 1, 2, 2, { padding: 0, normalize: true }).pixels)).toEqual([
      0, 128, 255, 64,
    ]);
    const bytes = Uint8Array.from([10, 20, 30, 40]);
    expect(Array.from(makeGrid(bytes, 1, 2, 2, { padding: 0, normalize: true }).pixels)).toEqual([
      0, 85, 170, 255,
    ]);
  });

  it('rejects a length that does not match count x height x width', () => {
    expect(() => makeGrid(new Uint8Array(10), 2, 2, 2)).toThrow(/need 8 values, got 10/);
    expect(() => makeGrid(new Uint8Array(0), 0, 2, 2)).toThrow(/at least one image/);
  });
});
