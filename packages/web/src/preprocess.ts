/**
 * MNIST's own preprocessing for free-hand drawings, on plain pixel arrays (no DOM), step by step:
 * ink -> crop to the bounding box -> scale to fit 20x20 keeping the aspect ratio (area averaging, which
 * anti-aliases like MNIST's) -> centre by centre of mass in 28x28 -> the 28->32 step the model was trained with.
 */
import { type GrayImage, type Preprocessing, preprocessImages } from '@lenet/data';

/** What a canvas' getImageData returns: RGBA bytes, row-major. A real `ImageData` fits. */
export interface ImageDataLike {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/**
 * Where the ink is in an RGBA picture: `'alpha'` (strokes on a transparent canvas, any colour),
 * `'light-on-dark'` (MNIST's white on black) or `'dark-on-light'` (pen on paper).
 */
export type InkSource = 'alpha' | 'light-on-dark' | 'dark-on-light';

/** A rectangle in pixels: columns x..x+width-1, rows y..y+height-1. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Side of the box MNIST fits every digit into. */
export const DIGIT_BOX_SIZE = 20;
/** Side of an MNIST image. */
export const MNIST_SIZE = 28;

/** Ink intensity 0-255 of every pixel of an RGBA picture. */
export function inkFromImageData(image: ImageDataLike, source: InkSource = 'alpha'): GrayImage {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) {
    throw new RangeError(
      `Expected ${width}x${height} RGBA pixels (${width * height * 4} bytes), got ${data.length} bytes.`,
    );
  }
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const r = data[i * 4]!;
    const g = data[i * 4 + 1]!;
    const b = data[i * 4 + 2]!;
    const a = data[i * 4 + 3]!;
    // Rec. 601 luma, weighted by alpha so that transparent pixels count as background.
    const luma = ((0.299 * r + 0.587 * g + 0.114 * b) * a) / 255;
    pixels[i] =
      source === 'alpha'
        ? a
        : source === 'light-on-dark'
          ? Math.round(luma)
          : Math.round((a * (255 - (0.299 * r + 0.587 * g + 0.114 * b))) / 255);
  }
  return { width, height, pixels };
}

/** The smallest box holding every pixel brighter than `threshold`, or null for an empty picture. */
export function boundingBox(image: GrayImage, threshold = 0): Box | null {
  let minX = image.width;
  let minY = image.height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.pixels[y * image.width + x]! > threshold) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  return maxX < 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/**
 * Crops `box` out of `image` and scales it so its longer side is `size` pixels (20 for MNIST), keeping the aspect
 * ratio. Each output pixel is the average of the source area it covers, so thin strokes fade instead of vanishing.
 */
export function cropAndFit(image: GrayImage, box: Box, size = DIGIT_BOX_SIZE): GrayImage {
  const scale = size / Math.max(box.width, box.height);
  const width = Math.max(1, Math.round(box.width * scale));
  const height = Math.max(1, Math.round(box.height * scale));
  const columns = areaWeights(box.width, width);
  const rows = areaWeights(box.height, height);
  // Separable: average along x into floats, then along y.
  const horizontal = new Float32Array(box.height * width);
  for (let y = 0; y < box.height; y++) {
    const rowStart = (box.y + y) * image.width + box.x;
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (const [source, weight] of columns[x]!) sum += image.pixels[rowStart + source]! * weight;
      horizontal[y * width + x] = sum;
    }
  }
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (const [source, weight] of rows[y]!) sum += horizontal[source * width + x]! * weight;
      pixels[y * width + x] = Math.min(255, Math.round(sum));
    }
  }
  return { width, height, pixels };
}

/** For each of `dst` cells, the `src` cells it overlaps and the share of the cell each covers (summing to 1). */
function areaWeights(src: number, dst: number): [number, number][][] {
  const step = src / dst;
  return Array.from({ length: dst }, (_, i) => {
    const start = i * step;
    const end = start + step;
    const weights: [number, number][] = [];
    for (let s = Math.floor(start); s < Math.min(src, Math.ceil(end)); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s);
      if (overlap > 1e-9) weights.push([s, overlap / step]);
    }
    return weights;
  });
}

/** Centre of mass of the pixel intensities, in pixel-index coordinates; null when the picture is black. */
export function centreOfMass(image: GrayImage): { x: number; y: number } | null {
  let total = 0;
  let sumX = 0;
  let sumY = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const v = image.pixels[y * image.width + x]!;
      total += v;
      sumX += v * x;
      sumY += v * y;
    }
  }
  return total === 0 ? null : { x: sumX / total, y: sumY / total };
}

/**
 * Places a digit (at most 28x28) in a black 28x28 image so that its centre of mass lands on the image's centre
 * (13.5, 13.5), as MNIST did, shifting by whole pixels and never cutting the digit off.
 */
export function centreByMass(digit: GrayImage, size = MNIST_SIZE): GrayImage {
  if (digit.width > size || digit.height > size) {
    throw new RangeError(
      `A ${digit.width}x${digit.height} digit does not fit ${size}x${size}; fit it first.`,
    );
  }
  const mass = centreOfMass(digit) ?? { x: (digit.width - 1) / 2, y: (digit.height - 1) / 2 };
  const centre = (size - 1) / 2;
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
  const offsetX = clamp(Math.round(centre - mass.x), size - digit.width);
  const offsetY = clamp(Math.round(centre - mass.y), size - digit.height);
  const pixels = new Uint8Array(size * size);
  for (let y = 0; y < digit.height; y++) {
    pixels.set(digit.pixels.subarray(y * digit.width, (y + 1) * digit.width), (y + offsetY) * size + offsetX);
  }
  return { width: size, height: size, pixels };
}

/** Every step of {@link preprocessDrawing}, so a page can show them. */
export interface DrawingSteps {
  /** Ink intensity of the whole drawing. */
  ink: GrayImage;
  /** Where the ink is in {@link DrawingSteps.ink}. */
  box: Box;
  /** The cropped digit scaled to fit 20x20. */
  fitted: GrayImage;
  /** The digit centred by mass in 28x28, like an MNIST image. */
  centred: GrayImage;
  /** The model input: 32x32 floats after the trained 28->32 step and normalisation. */
  input: Float32Array;
}

/**
 * Turns a drawing into the model's 32x32 input the way MNIST's digits were made, keeping every step.
 * Returns null when nothing is drawn.
 */
export function preprocessDrawing(
  image: ImageDataLike,
  preprocessing: Preprocessing,
  source: InkSource = 'alpha',
): DrawingSteps | null {
  const ink = inkFromImageData(image, source);
  const box = boundingBox(ink);
  if (box === null) return null;
  const fitted = cropAndFit(ink, box);
  const centred = centreByMass(fitted);
  const input = preprocessImages(centred.pixels, 1, preprocessing);
  return { ink, box, fitted, centred, input };
}
