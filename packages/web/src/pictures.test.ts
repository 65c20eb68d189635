import { describe, expect, it } from 'vitest';
import { divergingColour, featureMapPictures, floatPicture, kernelPictures, vectorPicture } from './pictures';

const rgbAt = (p: { width: number; data: Uint8ClampedArray }, x: number, y: number) => [
  ...p.data.subarray((y * p.width + x) * 4, (y * p.width + x) * 4 + 3),
];

describe('pictures', () => {
  it('colours zero dark, positive warm and negative cool, clamped to the range', () => {
    expect(divergingColour(0, 1)).toEqual([17, 17, 24]);
    expect(divergingColour(1, 1)).toEqual([255, 196, 64]);
    expect(divergingColour(-5, 1)).toEqual([64, 156, 255]);
  });

  it('splits an NHWC map into one picture per channel', () => {
    // 2x3 map with 2 channels: channel 1 is +1 at (x=2, y=1) and 0 elsewhere; channel 0 is -1 at (0, 0).
    const values = new Float32Array(2 * 3 * 2);
    values[(1 * 3 + 2) * 2 + 1] = 1;
    values[0] = -1;
    const [c0, c1] = featureMapPictures(values, 2, 3, 2);
    expect([c1!.width, c1!.height, c1!.data.length]).toEqual([3, 2, 24]);
    expect(rgbAt(c1!, 2, 1)).toEqual([255, 196, 64]);
    expect(rgbAt(c1!, 0, 0)).toEqual([17, 17, 24]);
    expect(rgbAt(c0!, 0, 0)).toEqual([64, 156, 255]);
    expect(() => featureMapPictures(values, 2, 2, 2)).toThrow(/has 8 values, got 12/);
  });

  it('uses a fixed range when given one, so weak maps look weak', () => {
    const [p] = featureMapPictures([0.5], 1, 1, 1, { range: 1 });
    expect(rgbAt(p!, 0, 0)).toEqual(divergingColour(0.5, 1));
    expect(() => featureMapPictures([1], 1, 1, 1, { range: 0 })).toThrow(/must be positive/);
  });

  it('reads HWIO kernels filter by filter', () => {
    // [2, 2, 1, 3]: filter o has value o+1 at (x=1, y=0) and 0 elsewhere.
    const values = new Float32Array(12);
    for (let o = 0; o < 3; o++) values[(0 * 2 + 1) * 3 + o] = o + 1;
    const pictures = kernelPictures(values, [2, 2, 1, 3]);
    expect(pictures).toHaveLength(3);
    expect(rgbAt(pictures[2]!, 1, 0)).toEqual([255, 196, 64]);
    expect(rgbAt(pictures[2]!, 0, 0)).toEqual([17, 17, 24]);
    expect(rgbAt(pictures[0]!, 1, 0)).toEqual(divergingColour(1, 3));
  });

  it('lays a vector out in rows and stretches floats to grey', () => {
    const p = vectorPicture([1, 0, 0, 0, -1], 2);
    expect([p.width, p.height]).toEqual([2, 3]);
    expect(rgbAt(p, 0, 2)).toEqual([64, 156, 255]);
    expect(rgbAt(p, 1, 2)).toEqual([17, 17, 24]);
    const g = floatPicture([-2, 0, 2, 2]);
    expect([g.width, [...g.data.subarray(0, 4)], [...g.data.subarray(4, 8)]]).toEqual([
      2,
      [0, 0, 0, 255],
      [128, 128, 128, 255],
    ]);
  });
});
