/**
 * Image transforms on plain typed arrays: 28x28 MNIST bytes to the 32x32 inputs LeNet-5 expects, scaling
 * and normalisation, and random affine augmentation. They run over 60,000 images, so they avoid tensors.
 */
import { createPilBilinearResizer } from './pil-resize';
import type { Rng } from './random';

const IN_SIZE = 28;
const OUT_SIZE = 32;
const BORDER = (OUT_SIZE - IN_SIZE) / 2;

/** Mean of MNIST training pixels on the [0,1] scale (torchvision's usual Normalize((0.1307,), (0.3081,))). */
export const MNIST_MEAN = 0.1307;
/** Standard deviation of MNIST training pixels on the [0,1] scale. */
export const MNIST_STD = 0.3081;

/** How 28x28 bytes become 32x32 network inputs. */
export interface Preprocessing {
  /** 'pad': 2 black pixels around (the LeNet-5 paper). 'bilinear': torchvision Resize((32, 32)). */
  resize: 'pad' | 'bilinear';
  /** After scaling to [0,1]: (v - mean) / std, or null to keep [0,1]. */
  normalize: { mean: number; std: number } | null;
}

/**
 * LeCun's 2-pixel zero padding, then MNIST's mean and std: what `lenet train` uses by default, and what
 * weights that do not record their preprocessing are assumed to want. Frozen, as every user shares it.
 */
export const DEFAULT_PREPROCESSING: Readonly<Preprocessing> = Object.freeze({
  resize: 'pad',
  normalize: Object.freeze({ mean: MNIST_MEAN, std: MNIST_STD }),
});

/** The seed's PyTorch inputs: torchvision `Resize((32, 32))` + `ToTensor()`, kept in [0, 1]. Frozen. */
export const SEED_PREPROCESSING: Readonly<Preprocessing> = Object.freeze({
  resize: 'bilinear',
  normalize: null,
});

/** Random affine distortions for training; every draw is uniform in the given range. */
export interface Augmentation {
  /** Largest shift along each axis, in pixels (fractional shifts are sampled bilinearly). */
  maxShift: number;
  /** Largest rotation either way, in degrees. */
  maxRotateDeg: number;
  /** [smallest, largest] zoom factor; [1, 1] for none. */
  scale: [number, number];
}

function checkLength(src: ArrayLike<number>, length: number, what: string): void {
  if (src.length !== length) {
    throw new RangeError(`Expected ${what} (${length} values), got ${src.length}.`);
  }
}

/** Puts a 28x28 image in the middle of a 32x32 black one (2-pixel border), as LeNet-5's paper does. */
export function pad28To32(src: Uint8Array, dst = new Uint8Array(OUT_SIZE * OUT_SIZE)): Uint8Array {
  checkLength(src, IN_SIZE * IN_SIZE, 'a 28x28 image');
  dst.fill(0);
  for (let y = 0; y < IN_SIZE; y++) {
    dst.set(src.subarray(y * IN_SIZE, (y + 1) * IN_SIZE), (y + BORDER) * OUT_SIZE + BORDER);
  }
  return dst;
}

let resizer28To32: ReturnType<typeof createPilBilinearResizer> | undefined;

/**
 * Resizes a 28x28 image to 32x32 exactly as torchvision `Resize((32, 32))` does on a PIL image
 * (Pillow's two-pass fixed-point bilinear resampling; see pil-resize.ts).
 */
export function resizeBilinear28To32(src: Uint8Array, dst?: Uint8Array): Uint8Array {
  resizer28To32 ??= createPilBilinearResizer(IN_SIZE, IN_SIZE, OUT_SIZE, OUT_SIZE);
  return resizer28To32(src, dst);
}

/**
 * The network input value of a pixel byte: byte / 255, then (v - mean) / std if normalising. Every step is
 * rounded to float32 as torchvision's ToTensor + Normalize do, so the values agree with PyTorch bit for bit.
 * `pixelValue(0, normalize)` is the background for {@link augmentImage}.
 */
export function pixelValue(byte: number, normalize: Preprocessing['normalize']): number {
  const f = Math.fround;
  const scaled = f(byte / 255);
  if (!normalize) return scaled;
  return f(f(scaled - f(normalize.mean)) / f(normalize.std));
}

/**
 * Turns a whole split of 28x28 bytes into 32x32 float inputs, once, so that batching is only copying.
 * @param images count * 28 * 28 bytes.
 * @returns count * 32 * 32 floats, image after image.
 */
export function preprocessImages(images: Uint8Array, count: number, p: Preprocessing): Float32Array {
  checkLength(images, count * IN_SIZE * IN_SIZE, `${count} images of 28x28`);
  if (p.normalize && !(p.normalize.std > 0)) {
    throw new RangeError(`Normalisation std must be positive, got ${p.normalize.std}.`);
  }
  const lookup = new Float32Array(256);
  for (let b = 0; b < 256; b++) lookup[b] = pixelValue(b, p.normalize);
  const resize = p.resize === 'pad' ? pad28To32 : resizeBilinear28To32;
  const out = new Float32Array(count * OUT_SIZE * OUT_SIZE);
  const resized = new Uint8Array(OUT_SIZE * OUT_SIZE);
  for (let i = 0; i < count; i++) {
    resize(images.subarray(i * IN_SIZE * IN_SIZE, (i + 1) * IN_SIZE * IN_SIZE), resized);
    const base = i * OUT_SIZE * OUT_SIZE;
    for (let j = 0; j < resized.length; j++) out[base + j] = lookup[resized[j]!]!;
  }
  return out;
}

/**
 * Writes into `dst` one random affine distortion of the square image `src` (rotation and zoom about the
 * centre, then a shift), sampled bilinearly. Pixels that come from outside the image get `background`,
 * which should be the input value of a black pixel: `pixelValue(0, normalize)`.
 * Draws exactly four numbers from `rng`, so a seed gives the same distortions whatever the ranges are.
 */
export function augmentImage(
  src: Float32Array,
  dst: Float32Array,
  rng: Rng,
  a: Augmentation,
  background: number,
): void {
  const size = Math.round(Math.sqrt(src.length));
  checkLength(src, size * size, 'a square image');
  checkLength(dst, src.length, `a ${size}x${size} destination`);
  const angle = ((rng.next() * 2 - 1) * a.maxRotateDeg * Math.PI) / 180;
  const zoom = a.scale[0] + rng.next() * (a.scale[1] - a.scale[0]);
  const shiftX = (rng.next() * 2 - 1) * a.maxShift;
  const shiftY = (rng.next() * 2 - 1) * a.maxShift;
  if (!(zoom > 0)) throw new RangeError(`Augmentation scale must be positive, got ${zoom}.`);

  // Inverse map: for each output pixel, where it comes from in src (undo the shift, the rotation, the zoom).
  const center = (size - 1) / 2;
  const cos = Math.cos(angle) / zoom;
  const sin = Math.sin(angle) / zoom;
  const at = (x: number, y: number): number =>
    x >= 0 && x < size && y >= 0 && y < size ? src[y * size + x]! : background;
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    const dy = y - center - shiftY;
    const sinDy = sin * dy;
    const cosDy = cos * dy;
    for (let x = 0; x < size; x++) {
      const dx = x - center - shiftX;
      const sx = cos * dx + sinDy + center;
      const sy = -sin * dx + cosDy + center;
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
