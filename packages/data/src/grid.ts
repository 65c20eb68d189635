/** An 8-bit greyscale picture, row-major. */
export interface GrayImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Options of {@link makeGrid}; the defaults are torchvision make_grid's. */
export interface GridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between and around images (default 2). */
  padding?: number;
  /** Value of the padding on the [0,1] scale (default 0, black). */
  padValue?: number;
  /** Stretch the images' values to the full range using their overall min and max (default false). */
  normalize?: boolean;
}

/**
 * Tiles `count` images of height x width into one picture with torchvision `make_grid`'s layout:
 * min(nrow, count) columns, ceil(count / columns) rows, `padding` pixels between and around them.
 * Byte inputs are used as they are; float inputs are on the [0,1] scale and become round(v * 255),
 * clamped, as torchvision `save_image` does. With `normalize`, values are first stretched min-max.
 */
export function makeGrid(
  images: Uint8Array | Float32Array,
  count: number,
  height: number,
  width: number,
  options: GridOptions = {},
): GrayImage {
  const { nrow = 8, padding = 2, padValue = 0, normalize = false } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`makeGrid needs at least one image, got ${count}.`);
  if (images.length !== count * height * width) {
    throw new RangeError(
      `makeGrid: ${count} images of ${height}x${width} need ${count * height * width} values, got ${images.length}.`,
    );
  }
  const columns = Math.min(nrow, count);
  const rows = Math.ceil(count / columns);
  const cellHeight = height + padding;
  const cellWidth = width + padding;
  const grid: GrayImage = {
    width: cellWidth * columns + padding,
    height: cellHeight * rows + padding,
    pixels: new Uint8Array((cellWidth * columns + padding) * (cellHeight * rows + padding)),
  };
  grid.pixels.fill(toByte(padValue));
  const bytes = imageBytes(images, normalize);
  for (let k = 0; k < count; k++) {
    const top = Math.floor(k / columns) * cellHeight + padding;
    const left = (k % columns) * cellWidth + padding;
    for (let y = 0; y < height; y++) {
      const from = (k * height + y) * width;
      grid.pixels.set(bytes.subarray(from, from + width), (top + y) * grid.width + left);
    }
  }
  return grid;
}

/** torchvision save_image's conversion: v * 255 + 0.5, clamped to 0..255, truncated. */
function toByte(v: number): number {
  return Math.min(255, Math.max(0, Math.floor(v * 255 + 0.5)));
}

function imageBytes(images: Uint8Array | Float32Array, normalize: boolean): Uint8Array {
  const isBytes = images instanceof Uint8Array;
  if (isBytes && !normalize) return images;
  let low = 0;
  let high = isBytes ? 255 : 1;
  if (normalize) {
    low = Number.POSITIVE_INFINITY;
    high = Number.NEGATIVE_INFINITY;
    for (const v of images) {
      if (v < low) low = v;
      if (v > high) high = v;
    }
  }
  // torchvision clamps to [low, high] and divides by max(high - low, 1e-5), so a flat image stays flat.
  const range = Math.max(high - low, 1e-5);
  const out = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = toByte((images[i]! - low) / range);
  return out;
}
