/**
 * Image transforms on plain typed arrays: 28x28 MNIST bytes to the 32x32 inputs LeNet-5 expects, scaling
 * and normalisation (random distortions are in augmentation.ts). They run over 60,000 images, so they avoid
 * tensors.
 */
import { createPilBilinearResizer } from './pil-resize';

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

/** Throws a RangeError unless `src` holds `length` values; `what` names what was expected. */
export function checkLength(src: ArrayLike<number>, length: number, what: string): void {
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
 * `pixelValue(0, normalize)` is the background for `augmentImage`.
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
