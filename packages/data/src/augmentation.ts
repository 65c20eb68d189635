/**
 * Random affine distortions of training images, in two steps: drawing one (four numbers from a seeded
 * generator) and applying it (a pure function of the image, the distortion and the background). The split
 * lets a GPU apply the same distortions that were drawn here (see augment-transform.ts).
 */
import type { Rng } from './random';
import { checkLength } from './transforms';

/** Random affine distortions for training; every draw is uniform in the given range. */
export interface Augmentation {
  /** Largest shift along each axis, in pixels (fractional shifts are sampled bilinearly). */
  maxShift: number;
  /** Largest rotation either way, in degrees. */
  maxRotateDeg: number;
  /** [smallest, largest] zoom factor; [1, 1] for none. */
  scale: [number, number];
}

/** One distortion as drawn: a rotation and a zoom about the image centre, then a shift. */
export interface AugmentationParams {
  /** Rotation in radians. */
  angle: number;
  /** Zoom factor, > 0 (above 1 enlarges). */
  zoom: number;
  /** Shift in pixels along x (columns) and y (rows). */
  shiftX: number;
  shiftY: number;
}

/**
 * Draws one distortion within the ranges of `a`: exactly four numbers from `rng` (angle, zoom, shiftX,
 * shiftY, in that order), so a seed gives the same sequence of distortions whatever the ranges are.
 * @throws RangeError when the zoom drawn is not positive (a scale range reaching 0 or below).
 */
export function drawAugmentation(rng: Rng, a: Augmentation): AugmentationParams {
  const angle = ((rng.next() * 2 - 1) * a.maxRotateDeg * Math.PI) / 180;
  const zoom = a.scale[0] + rng.next() * (a.scale[1] - a.scale[0]);
  const shiftX = (rng.next() * 2 - 1) * a.maxShift;
  const shiftY = (rng.next() * 2 - 1) * a.maxShift;
  if (!(zoom > 0)) throw new RangeError(`Augmentation scale must be positive, got ${zoom}.`);
  return { angle, zoom, shiftX, shiftY };
}

/**
 * Writes into `dst` the distortion `p` of the square image `src` (rotation and zoom about the centre, then
 * a shift), sampled bilinearly. Pixels that come from outside the image get `background`, which should be
 * the input value of a black pixel: `pixelValue(0, normalize)`. Computes in float64, rounding only the
 * result to float32.
 */
export function applyAugmentation(
  src: Float32Array,
  dst: Float32Array,
  p: AugmentationParams,
  background: number,
): void {
  const size = checkSquare(src, dst);
  if (!(p.zoom > 0)) throw new RangeError(`Augmentation zoom must be positive, got ${p.zoom}.`);

  // Inverse map: for each output pixel, where it comes from in src (undo the shift, the rotation, the zoom).
  const center = (size - 1) / 2;
  const cos = Math.cos(p.angle) / p.zoom;
  const sin = Math.sin(p.angle) / p.zoom;
  const { shiftX, shiftY } = p;
  const at = (x: number, y: number): number =>
    x >= 0 && x < size && y >= 0 && y < size ? src[y * size + x]! : background;
  const last = size - 1;
  const dx0 = -center - shiftX;
  for (let y = 0; y < size; y++) {
    const dy = y - center - shiftY;
    // Along a row the source point moves by (cos, -sin) per pixel: added, not multiplied, per pixel
    // (float64, so the sums stay within about 1e-14 of the products).
    let sx = cos * dx0 + sin * dy + center;
    let sy = -sin * dx0 + cos * dy + center;
    for (let x = 0; x < size; x++, sx += cos, sy -= sin) {
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      let p00: number;
      let p01: number;
      let p10: number;
      let p11: number;
      if (x0 >= 0 && y0 >= 0 && x0 < last && y0 < last) {
        // All four neighbours inside (most pixels): read them without bounds checks.
        const i = y0 * size + x0;
        p00 = src[i]!;
        p01 = src[i + 1]!;
        p10 = src[i + size]!;
        p11 = src[i + size + 1]!;
      } else {
        p00 = at(x0, y0);
        p01 = at(x0 + 1, y0);
        p10 = at(x0, y0 + 1);
        p11 = at(x0 + 1, y0 + 1);
      }
      const top = p00 + (p01 - p00) * fx;
      const bottom = p10 + (p11 - p10) * fx;
      dst[y * size + x] = top + (bottom - top) * fy;
    }
  }
}

/**
 * Writes into `dst` one random distortion of the square image `src`: {@link drawAugmentation} from `rng`,
 * then {@link applyAugmentation} with `background`. Draws exactly four numbers from `rng`.
 */
export function augmentImage(
  src: Float32Array,
  dst: Float32Array,
  rng: Rng,
  a: Augmentation,
  background: number,
): void {
  checkSquare(src, dst);
  applyAugmentation(src, dst, drawAugmentation(rng, a), background);
}

/** The side of the square image `src`, checking that `dst` has its size. */
function checkSquare(src: Float32Array, dst: Float32Array): number {
  const size = Math.round(Math.sqrt(src.length));
  checkLength(src, size * size, 'a square image');
  checkLength(dst, src.length, `a ${size}x${size} destination`);
  return size;
}
