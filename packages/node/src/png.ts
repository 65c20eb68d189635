import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { writeFileAtomic } from './io';

/** An 8-bit image with interleaved channels: gray, RGB or RGBA, rows top to bottom. */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  /** `width · height · channels` bytes, row-major, channels interleaved. */
  pixels: Uint8Array;
}

/** An 8-bit grayscale image, rows top to bottom (the shape of an MNIST digit). */
export interface GrayImage {
  width: number;
  height: number;
  /** `width · height` bytes, row-major; 0 is black. */
  pixels: Uint8Array;
}

/** A PNG file cannot be read or decoded, or an image cannot be encoded. */
export class PngError extends Error {
  override name = 'PngError';
}

// PNG color types per channel count (PNG spec, IHDR): gray, RGB, RGBA.
const COLOR_TYPE_FOR_CHANNELS = { 1: 0, 3: 2, 4: 6 } as const;

/**
 * Writes an 8-bit PNG, atomically. A `GrayImage` (no `channels`) is written as grayscale.
 *
 * @throws PngError when the size is not a positive integer or `pixels` has the wrong length.
 */
export async function writePng(path: string, image: GrayImage | Image): Promise<void> {
  const channels = 'channels' in image ? image.channels : 1;
  const { width, height, pixels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new PngError(
      `Cannot write ${path}: the image size must be positive integers, got ${width}x${height}.`,
    );
  }
  const colorType = COLOR_TYPE_FOR_CHANNELS[channels];
  if (colorType === undefined) {
    throw new PngError(`Cannot write ${path}: channels must be 1, 3 or 4, got ${channels}.`);
  }
  if (pixels.length !== width * height * channels) {
    throw new PngError(
      `Cannot write ${path}: a ${width}x${height} image with ${channels} channel(s) needs ` +
        `${width * height * channels} bytes of pixels, got ${pixels.length}.`,
    );
  }
  const encoded = PNG.sync.write(
    { width, height, data: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength) } as PNG,
    { colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: 8 },
  );
  await writeFileAtomic(path, encoded);
}

/**
 * Reads a PNG of any color type and bit depth as 8-bit grayscale.
 *
 * Color becomes luminance with the ITU-R 601 weights in PIL's fixed-point form
 * (`L = (19595·R + 38470·G + 7471·B + 2^15) >> 16`, so Python pipelines agree byte for byte).
 * Transparent pixels are composited over black, because MNIST digits are white on black: a digit
 * drawn on a transparent canvas then looks like an MNIST digit.
 *
 * @throws PngError naming the path when the file is missing, not a PNG, or corrupt.
 */
export async function readPngGray(path: string): Promise<GrayImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new PngError(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let png: PNG;
  try {
    // pngjs expands every color type to 8-bit RGBA (16-bit samples are scaled down).
    png = PNG.sync.read(bytes);
  } catch (error) {
    throw new PngError(
      `${path} is not a readable PNG file (${(error as Error).message}). Save the image as PNG and try again.`,
      { cause: error },
    );
  }
  const { width, height, data } = png;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const r = data[4 * i]!;
    const g = data[4 * i + 1]!;
    const b = data[4 * i + 2]!;
    const alpha = data[4 * i + 3]!;
    const luminance = (19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16;
    pixels[i] = Math.round((luminance * alpha) / 255);
  }
  return { width, height, pixels };
}
