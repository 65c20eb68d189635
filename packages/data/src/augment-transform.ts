/**
 * A distortion (see augmentation.ts) in the form a GPU applies it: the `transforms` input of the
 * `AugmentBatch` kernel of `@lenet/ops`, whose float32 arithmetic then lands where `applyAugmentation`'s
 * float64 arithmetic does, to about 1e-7 of a pixel.
 */
import type { AugmentationParams } from './augmentation';

/** Floats per image in an augment transform ({@link writeAugmentTransform}). */
export const AUGMENT_TRANSFORM_FLOATS = 8;

/** The grid of the high parts: products with pixel offsets and their sums stay exact in float32. */
const HIGH_PART_STEP = 2 ** -12;

/**
 * Writes `p` as the augment transform of one image at `out[offset, offset + 8)`. The source of output pixel
 * (x, y) of an image of side `size` is, with c = (size - 1) / 2, u = x - c and v = y - c:
 *
 *   sourceX = c + a·u + b·v + tx,   sourceY = c - b·u + a·v + ty,
 *
 * where a = cos(angle) / zoom, b = sin(angle) / zoom, tx = -(a·shiftX + b·shiftY) and
 * ty = b·shiftX - a·shiftY: `applyAugmentation`'s inverse map, regrouped. Each of a, b, tx, ty is stored
 * as two float32s, a high part on a 2^-12 grid and the float32 rest, in the order
 * [aHigh, bHigh, txHigh, tyHigh, aLow, bLow, txLow, tyLow].
 *
 * Why two parts: in plain float32 the source position is off by up to a few 1e-6 of a pixel, which on a
 * digit's sharp edge moves a value by 1e-5 (more where a GPU fuses a multiply and an add). Split this
 * way, the high parts times u or v and their sums are exact in float32 for sources within 2,000 pixels,
 * and the low parts are small enough that rounding them costs about 1e-10.
 */
export function writeAugmentTransform(p: AugmentationParams, out: Float32Array, offset = 0): void {
  if (!(p.zoom > 0)) throw new RangeError(`Augmentation zoom must be positive, got ${p.zoom}.`);
  if (offset < 0 || offset + AUGMENT_TRANSFORM_FLOATS > out.length) {
    throw new RangeError(
      `An augment transform needs ${AUGMENT_TRANSFORM_FLOATS} floats at ${offset}; the array holds ${out.length}.`,
    );
  }
  const a = Math.cos(p.angle) / p.zoom;
  const b = Math.sin(p.angle) / p.zoom;
  const parts = [a, b, -(a * p.shiftX + b * p.shiftY), b * p.shiftX - a * p.shiftY];
  parts.forEach((value, i) => {
    const high = Math.round(value / HIGH_PART_STEP) * HIGH_PART_STEP;
    out[offset + i] = high;
    out[offset + 4 + i] = value - high;
  });
}

/** The augment transforms of `params`, image after image: params.length * 8 floats. */
export function augmentTransforms(params: readonly AugmentationParams[]): Float32Array {
  const out = new Float32Array(params.length * AUGMENT_TRANSFORM_FLOATS);
  params.forEach((p, i) => {
    writeAugmentTransform(p, out, i * AUGMENT_TRANSFORM_FLOATS);
  });
  return out;
}
