/**
 * Pillow's bilinear resize of single-channel 8-bit images, bit for bit (libImaging/Resample.c,
 * ImagingResample with the BILINEAR filter). torchvision's `Resize` on a PIL image calls this, so matching
 * it exactly lets models trained in PyTorch see the same pixels here.
 *
 * Pillow resizes in two separable passes, horizontal then vertical, each rounding to uint8, with weights
 * in 22-bit fixed point. A one-pass float bilinear differs by 1/255 on a few percent of pixels.
 */

/** Fixed-point fraction bits of Pillow's 8-bit resampling (32 - 8 - 2). */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
/** The triangle filter reaches one input pixel either side (scaled up when shrinking). */
const BILINEAR_SUPPORT = 1;

/** The input pixels and fixed-point weights that make each output pixel along one axis. */
interface AxisCoefficients {
  /** Per output pixel: first input index, number of taps. */
  first: Int32Array;
  taps: Int32Array;
  /** Per output pixel, `kernelSize` weights (only the first `taps` are used). */
  weights: Int32Array;
  kernelSize: number;
}

function bilinearFilter(x: number): number {
  const ax = Math.abs(x);
  return ax < 1 ? 1 - ax : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc, for the whole input range (no crop box). */
function precomputeCoefficients(inSize: number, outSize: number): AxisCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BILINEAR_SUPPORT * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const taps = new Int32Array(outSize);
  const weights = new Int32Array(outSize * kernelSize);
  const raw = new Float64Array(kernelSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C casts truncate toward zero; Math.trunc does the same, including for small negative values.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      raw[x] = bilinearFilter((x + xmin - center + 0.5) / filterScale);
      sum += raw[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum === 0 ? raw[x]! : raw[x]! / sum;
      weights[xx * kernelSize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[xx] = xmin;
    taps[xx] = xmax;
  }
  return { first, taps, weights, kernelSize };
}

/** Pillow's clip8: drop the fixed-point fraction and clamp to 0..255. */
function clip8(sum: number): number {
  if (sum >= ONE * 256) return 255;
  if (sum <= 0) return 0;
  return sum >> PRECISION_BITS;
}

/** Resizes one image of a fixed size; returned by {@link createPilBilinearResizer}. */
export type PilResizer = (src: Uint8Array, dst?: Uint8Array) => Uint8Array;

/**
 * Prepares a resizer from inWidth x inHeight to outWidth x outHeight greyscale bytes (row-major) that gives
 * exactly what Pillow's `Image.resize((outWidth, outHeight), Image.BILINEAR)` gives on a mode "L" image.
 * The coefficients are computed once, so calling the resizer per image of a whole dataset is cheap.
 */
export function createPilBilinearResizer(
  inWidth: number,
  inHeight: number,
  outWidth: number,
  outHeight: number,
): PilResizer {
  const horizontal = inWidth === outWidth ? null : precomputeCoefficients(inWidth, outWidth);
  const vertical = inHeight === outHeight ? null : precomputeCoefficients(inHeight, outHeight);
  const temp = new Uint8Array(outWidth * inHeight);
  return (src, dst = new Uint8Array(outWidth * outHeight)) => {
    if (src.length !== inWidth * inHeight) {
      throw new RangeError(
        `Expected a ${inWidth}x${inHeight} image (${inWidth * inHeight} bytes), got ${src.length}.`,
      );
    }
    // Pass 1: rows inWidth -> outWidth into temp (outWidth x inHeight).
    if (horizontal) {
      const { first, taps, weights, kernelSize } = horizontal;
      for (let y = 0; y < inHeight; y++) {
        const row = y * inWidth;
        for (let xx = 0; xx < outWidth; xx++) {
          let sum = HALF;
          const start = row + first[xx]!;
          const k = xx * kernelSize;
          for (let t = 0; t < taps[xx]!; t++) sum += src[start + t]! * weights[k + t]!;
          temp[y * outWidth + xx] = clip8(sum);
        }
      }
    } else {
      temp.set(src);
    }
    // Pass 2: columns inHeight -> outHeight into dst.
    if (vertical) {
      const { first, taps, weights, kernelSize } = vertical;
      for (let yy = 0; yy < outHeight; yy++) {
        const k = yy * kernelSize;
        for (let x = 0; x < outWidth; x++) {
          let sum = HALF;
          for (let t = 0; t < taps[yy]!; t++) sum += temp[(first[yy]! + t) * outWidth + x]! * weights[k + t]!;
          dst[yy * outWidth + x] = clip8(sum);
        }
      }
    } else {
      dst.set(temp);
    }
    return dst;
  };
}
