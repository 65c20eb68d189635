import { type GrayImage, makeGrid } from '@lenet/data';
import { writePng } from '@lenet/node';
import type { Mistake } from '@lenet/ops';
import { drawText, GLYPH_HEIGHT, textWidth } from './pixel-font';

/** How many mistakes `lenet train` and `lenet eval` draw in report/mistakes.png. */
export const REPORT_MISTAKES = 40;

/** MNIST's image side. */
const SIDE = 28;
/** Each digit pixel becomes SCALE x SCALE, so a tile is wide enough for its label. */
const SCALE = 3;
const TEXT_SCALE = 2;
/** The label strip under each digit: the text with 2 pixels above and below. */
const STRIP = GLYPH_HEIGHT * TEXT_SCALE + 4;
const TILE_WIDTH = SIDE * SCALE;
const TILE_HEIGHT = SIDE * SCALE + STRIP;
const PER_ROW = 8;
const PADDING = 2;
/** Gray between tiles, so black tiles stay apart. */
const PAD_VALUE = 0.5;

/** The 28x28 bytes (0 black, 255 white) of test image `index`. */
export type DigitImage = (index: number) => Uint8Array;

/** Test images from MNIST's raw bytes (`mnist.test.images`, 784 bytes an image). */
export function rawDigits(images: Uint8Array): DigitImage {
  const count = Math.floor(images.length / (SIDE * SIDE));
  return (index) => {
    if (!(Number.isInteger(index) && index >= 0 && index < count)) {
      throw new RangeError(`mistakes picture: test image ${index} is not among the ${count} images.`);
    }
    return images.subarray(index * SIDE * SIDE, (index + 1) * SIDE * SIDE);
  };
}

/**
 * Test images recovered from the 32x32 model inputs of a prepared split, for when the raw bytes are
 * not at hand: the central 28x28 (the digit itself under LeCun's 2-pixel padding; under the bilinear
 * resize, the digit slightly enlarged, its empty border trimmed), stretched to 0..255 per image, which
 * undoes the normalisation.
 */
export function modelInputDigits(inputs: Float32Array, side = 32): DigitImage {
  const count = Math.floor(inputs.length / (side * side));
  const offset = (side - SIDE) >> 1;
  return (index) => {
    if (!(Number.isInteger(index) && index >= 0 && index < count)) {
      throw new RangeError(`mistakes picture: test image ${index} is not among the ${count} images.`);
    }
    const crop = new Float32Array(SIDE * SIDE);
    for (let y = 0; y < SIDE; y++) {
      const from = (index * side + y + offset) * side + offset;
      crop.set(inputs.subarray(from, from + SIDE), y * SIDE);
    }
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (const v of crop) {
      if (v < low) low = v;
      if (v > high) high = v;
    }
    const range = Math.max(high - low, 1e-5);
    return Uint8Array.from(crop, (v) => Math.round((255 * (v - low)) / range));
  };
}

/** A tile's label: true label, '>', predicted label, the predicted class's probability: "7>2 93%". */
export function mistakeLabel(mistake: Mistake): string {
  return `${mistake.label}>${mistake.predicted} ${Math.round(100 * mistake.probability)}%`;
}

/** Width and height of the picture of `count` mistakes (0: the one tile that says NONE). */
export function mistakesPictureSize(count: number): { width: number; height: number } {
  const columns = Math.min(PER_ROW, Math.max(1, count));
  const rows = Math.max(1, Math.ceil(count / columns));
  return {
    width: columns * (TILE_WIDTH + PADDING) + PADDING,
    height: rows * (TILE_HEIGHT + PADDING) + PADDING,
  };
}

/**
 * The mistakes in a grid, in their order (evaluate's: highest loss first), 8 a row: each digit scaled
 * 3x, white on black as MNIST draws it, over its label ({@link mistakeLabel}). No mistakes: one tile
 * that says NONE, so a stale picture of an earlier run never stays behind.
 */
export function mistakesPicture(mistakes: readonly Mistake[], digit: DigitImage): GrayImage {
  if (mistakes.length === 0) {
    const tile = new Uint8Array(TILE_WIDTH * TILE_HEIGHT);
    const width = textWidth('NONE', SCALE);
    drawText(
      tile,
      TILE_WIDTH,
      'NONE',
      (TILE_WIDTH - width) >> 1,
      (TILE_HEIGHT - GLYPH_HEIGHT * SCALE) >> 1,
      SCALE,
    );
    return makeGrid(tile, 1, TILE_HEIGHT, TILE_WIDTH, {
      nrow: PER_ROW,
      padding: PADDING,
      padValue: PAD_VALUE,
    });
  }
  const tiles = new Uint8Array(mistakes.length * TILE_WIDTH * TILE_HEIGHT);
  mistakes.forEach((mistake, k) => {
    const tile = tiles.subarray(k * TILE_WIDTH * TILE_HEIGHT, (k + 1) * TILE_WIDTH * TILE_HEIGHT);
    const source = digit(mistake.index);
    for (let y = 0; y < SIDE * SCALE; y++) {
      const row = Math.floor(y / SCALE) * SIDE;
      for (let x = 0; x < TILE_WIDTH; x++) tile[y * TILE_WIDTH + x] = source[row + Math.floor(x / SCALE)]!;
    }
    const label = mistakeLabel(mistake);
    const left = Math.max(0, (TILE_WIDTH - textWidth(label, TEXT_SCALE)) >> 1);
    drawText(tile, TILE_WIDTH, label, left, SIDE * SCALE + 2, TEXT_SCALE);
  });
  return makeGrid(tiles, mistakes.length, TILE_HEIGHT, TILE_WIDTH, {
    nrow: PER_ROW,
    padding: PADDING,
    padValue: PAD_VALUE,
  });
}

/** Draws {@link mistakesPicture} and writes it as a PNG, atomically; returns the picture. */
export async function writeMistakesPicture(
  path: string,
  mistakes: readonly Mistake[],
  digit: DigitImage,
): Promise<GrayImage> {
  const picture = mistakesPicture(mistakes, digit);
  await writePng(path, picture);
  return picture;
}
