/**
 * Turns feature maps, vectors and kernels into RGBA pixels that `new ImageData(p.data, p.width, p.height)`
 * accepts. Plain arrays in, plain arrays out: no DOM needed, so it runs (and is tested) anywhere.
 */
import type { GrayImage } from '@lenet/data';

/** RGBA pixels, row-major; `new ImageData(picture.data, picture.width, picture.height)` makes it drawable. */
export interface Picture {
  width: number;
  height: number;
  data: Uint8ClampedArray<ArrayBuffer>;
}

/** Options of the picture helpers. */
export interface PictureOptions {
  /**
   * The value drawn at full colour: values are divided by it and clamped to [-1, 1]. `'auto'` (default) uses the
   * largest magnitude among the values drawn together. Use 1 for tanh outputs, to compare maps on one scale.
   */
  range?: number | 'auto';
}

type Rgb = readonly [number, number, number];
const ZERO: Rgb = [17, 17, 24];
const POSITIVE: Rgb = [255, 196, 64];
const NEGATIVE: Rgb = [64, 156, 255];

/** The colour of one value: dark for 0, warm for positive, cool for negative (a diverging palette). */
export function divergingColour(value: number, range: number): Rgb {
  const t = Math.max(-1, Math.min(1, range > 0 ? value / range : 0));
  const target = t >= 0 ? POSITIVE : NEGATIVE;
  const a = Math.abs(t);
  return [0, 1, 2].map((i) => Math.round(ZERO[i]! + (target[i]! - ZERO[i]!) * a)) as unknown as Rgb;
}

function resolveRange(values: ArrayLike<number>, range: PictureOptions['range']): number {
  if (typeof range === 'number') {
    if (!(range > 0)) throw new RangeError(`The picture range must be positive, got ${range}.`);
    return range;
  }
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  return max;
}

/** One picture of `width` x `height` values taken with `valueAt(x, y)`. */
function paint(
  width: number,
  height: number,
  range: number,
  valueAt: (x: number, y: number) => number,
): Picture {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = divergingColour(valueAt(x, y), range);
      const o = (y * width + x) * 4;
      data[o] = r;
      data[o + 1] = g;
      data[o + 2] = b;
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/**
 * One picture per channel of a single image's feature map in NHWC order (`[height, width, channels]` values,
 * e.g. C1's 28x28x6 or S4's 5x5x16). With `range: 'auto'` every channel shares one scale.
 */
export function featureMapPictures(
  values: ArrayLike<number>,
  height: number,
  width: number,
  channels: number,
  options: PictureOptions = {},
): Picture[] {
  if (values.length !== height * width * channels) {
    throw new RangeError(
      `A ${height}x${width}x${channels} feature map has ${height * width * channels} values, got ${values.length}.`,
    );
  }
  const range = resolveRange(values, options.range);
  return Array.from({ length: channels }, (_, c) =>
    paint(width, height, range, (x, y) => values[(y * width + x) * channels + c]!),
  );
}

/**
 * A vector (C5's 120 units, F6's 84) as a grid `columns` wide, filled row by row; cells past the end stay dark.
 */
export function vectorPicture(
  values: ArrayLike<number>,
  columns: number,
  options: PictureOptions = {},
): Picture {
  if (!(Number.isInteger(columns) && columns > 0)) {
    throw new RangeError(`columns must be a positive integer, got ${columns}.`);
  }
  const range = resolveRange(values, options.range);
  const rows = Math.ceil(values.length / columns);
  return paint(columns, rows, range, (x, y) => {
    const i = y * columns + x;
    return i < values.length ? values[i]! : 0;
  });
}

/**
 * One picture per (input channel, output channel) pair of a convolution kernel in tfjs' HWIO layout
 * (`[kh, kw, in, out]` values), output channel by output channel. C1's `[5, 5, 1, 6]` gives six 5x5 pictures.
 * With `range: 'auto'` all share one scale, so their strengths compare.
 */
export function kernelPictures(
  values: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  options: PictureOptions = {},
): Picture[] {
  const [kh, kw, inChannels, outChannels] = shape;
  if (values.length !== kh * kw * inChannels * outChannels) {
    throw new RangeError(
      `A [${shape.join(', ')}] kernel has ${kh * kw * inChannels * outChannels} values, got ${values.length}.`,
    );
  }
  const range = resolveRange(values, options.range);
  const pictures: Picture[] = [];
  for (let o = 0; o < outChannels; o++) {
    for (let i = 0; i < inChannels; i++) {
      pictures.push(
        paint(kw, kh, range, (x, y) => values[((y * kw + x) * inChannels + i) * outChannels + o]!),
      );
    }
  }
  return pictures;
}

/** A greyscale image (0 black, 255 white) as an opaque picture, e.g. a preprocessing step. */
export function grayPicture(image: GrayImage): Picture {
  const data = new Uint8ClampedArray(image.width * image.height * 4);
  for (let i = 0; i < image.pixels.length; i++) {
    const v = image.pixels[i]!;
    data[i * 4] = v;
    data[i * 4 + 1] = v;
    data[i * 4 + 2] = v;
    data[i * 4 + 3] = 255;
  }
  return { width: image.width, height: image.height, data };
}

/** A square float image (e.g. the 32x32 model input) stretched min-max to greyscale. */
export function floatPicture(values: ArrayLike<number>): Picture {
  const size = Math.round(Math.sqrt(values.length));
  if (size * size !== values.length)
    throw new RangeError(`Expected a square image, got ${values.length} values.`);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const span = max > min ? max - min : 1;
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) pixels[i] = Math.round(((values[i]! - min) / span) * 255);
  return grayPicture({ width: size, height: size, pixels });
}
