import { crc32, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { errnoMeaning } from './errno';
import { writeFileAtomic } from './io';
import { openRegularFile, readAtMost } from './regular-file';

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
 * The largest width or height, in pixels, that {@link readPngGray} decodes. A larger PNG is refused from its
 * header, before any image data is inflated: a few kilobytes of zlib can claim gigabytes of pixels, and a
 * digit is scaled to 28x28 anyway.
 */
export const MAX_PNG_SIDE = 4096;

/** The largest PNG file, in bytes, that {@link readPngGray} reads; a larger one is refused before reading. */
export const MAX_PNG_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a PNG of any color type and bit depth as 8-bit grayscale.
 *
 * Color becomes luminance with the ITU-R 601 weights in PIL's fixed-point form
 * (`L = (19595·R + 38470·G + 7471·B + 2^15) >> 16`, so Python pipelines agree byte for byte).
 * Transparent pixels are composited over black, because MNIST digits are white on black: a digit
 * drawn on a transparent canvas then looks like an MNIST digit.
 *
 * The file is untrusted: it must be a regular file of at most {@link MAX_PNG_FILE_BYTES}, at most
 * {@link MAX_PNG_SIDE} pixels a side, with intact chunks (CRC-checked) and exactly the image data its
 * header calls for; all of that is checked before the image is decoded.
 *
 * @throws PngError naming the path when the file is missing, not a regular file, too large, not a PNG,
 * truncated or corrupt. Its message is one line that says what to do.
 */
export async function readPngGray(path: string): Promise<GrayImage> {
  const bytes = await readUntrustedFile(path);
  const png = checkPngStructure(path, bytes);
  let decoded: PNG;
  try {
    // pngjs expands every color type to 8-bit RGBA (16-bit samples are scaled down). Bytes after IEND
    // are left out: other readers ignore them, pngjs would refuse the file for them.
    decoded = PNG.sync.read(bytes.subarray(0, png.end));
  } catch (error) {
    // pngjs's own errors say what it met; a TypeError or RangeError from inside it says nothing useful.
    const reason =
      error instanceof TypeError || error instanceof RangeError
        ? 'a chunk holds malformed data'
        : (error as Error).message;
    throw new PngError(
      `${path} is not a readable PNG file (${reason}). Save the image as PNG and try again.`,
      { cause: error },
    );
  }
  const { width, height, data } = decoded;
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

/** The whole of a regular file of at most {@link MAX_PNG_FILE_BYTES}. */
async function readUntrustedFile(path: string): Promise<Buffer> {
  const cannotRead = (error: unknown) =>
    new PngError(`Cannot read ${path}: ${errnoMeaning(error) ?? (error as Error).message}`, { cause: error });
  let opened: Awaited<ReturnType<typeof openRegularFile>>;
  try {
    opened = await openRegularFile(path);
  } catch (error) {
    throw cannotRead(error);
  }
  if ('kind' in opened) {
    throw new PngError(`${path} is ${opened.kind}, not a regular file; give the path of a PNG file.`);
  }
  try {
    if (opened.size > MAX_PNG_FILE_BYTES) {
      throw new PngError(
        `${path} has ${opened.size} bytes; PNG files over ${MAX_PNG_FILE_BYTES / 2 ** 20} MiB are refused. ` +
          'Save the image smaller and try again.',
      );
    }
    // What the stat promised and no more, even if the file grows meanwhile.
    const bytes = await readAtMost(opened, opened.size).catch((error: unknown) => {
      throw cannotRead(error);
    });
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } finally {
    await opened.handle.close();
  }
}

/** What the IHDR chunk says (PNG spec 11.2.2), and where the IEND chunk ends. */
interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
  /** The offset just past the IEND chunk. */
  end: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Samples per pixel of each color type, and the bit depths that the spec allows with it. */
const COLOR_TYPES: Record<number, { samples: number; bitDepths: number[] }> = {
  0: { samples: 1, bitDepths: [1, 2, 4, 8, 16] }, // gray
  2: { samples: 3, bitDepths: [8, 16] }, // RGB
  3: { samples: 1, bitDepths: [1, 2, 4, 8] }, // palette index
  4: { samples: 2, bitDepths: [8, 16] }, // gray + alpha
  6: { samples: 4, bitDepths: [8, 16] }, // RGBA
};

/** The Adam7 passes (PNG spec 8.2): first column, first row, column step, row step. */
const ADAM7_PASSES = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * Checks what pngjs does not, before it decodes anything: the image size against {@link MAX_PNG_SIDE}
 * (pngjs would allocate whatever IHDR claims), every chunk's length and CRC (pngjs reports a bad CRC as
 * "unrecognised content at end of stream"), and that the image data inflates to exactly the bytes the header
 * calls for: pngjs fills short or undecodable image data with whatever its fresh buffer held, so a truncated
 * file would be read as an image.
 */
function checkPngStructure(path: string, bytes: Buffer): PngHeader {
  const refuse = (reason: string, advice = 'Save the image as PNG and try again.'): never => {
    throw new PngError(`${path} is not a readable PNG file (${reason}). ${advice}`);
  };
  const truncated = 'Copy the whole file again, or save the image as PNG again.';
  if (bytes.length < PNG_SIGNATURE.length || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    refuse('it does not start with the PNG signature');
  }

  let header: PngHeader | undefined;
  let idatBytes = 0;
  let idatChunks = 0;
  for (let at = 8; ; ) {
    if (at + 12 > bytes.length) {
      refuse(header ? 'it ends before its IEND chunk; it is truncated' : 'it has no IHDR chunk', truncated);
    }
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const shownType = /^[A-Za-z]{4}$/.test(type) ? type : 'a damaged';
    if (length > bytes.length - at - 12) {
      refuse(
        `the ${shownType} chunk at byte ${at} runs past the end of the file; it is truncated`,
        truncated,
      );
    }
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== bytes.readUInt32BE(at + 8 + length)) {
      refuse(`the ${shownType} chunk at byte ${at} fails its CRC check; the file is corrupt`, truncated);
    }
    at += 12 + length;
    if (header === undefined) {
      if (type !== 'IHDR' || length !== 13) refuse('it does not begin with a 13-byte IHDR chunk');
      header = parseHeader(path, data, refuse);
    } else if (type === 'IDAT') {
      idatBytes += length;
      idatChunks++;
    } else if (type === 'IEND') {
      header.end = at;
      break;
    } else if (type === 'IHDR') {
      refuse('it has a second IHDR chunk');
    }
  }
  if (idatChunks === 0) refuse('it has no IDAT chunk, so no image data');

  // The zlib stream may be split over many IDAT chunks; they are joined in a second pass over the chunks
  // just checked, so that the first pass keeps nothing per chunk.
  const compressed = Buffer.allocUnsafe(idatBytes);
  let filled = 0;
  for (let at = 8; at < header.end; ) {
    const length = bytes.readUInt32BE(at);
    if (bytes.toString('latin1', at + 4, at + 8) === 'IDAT') {
      filled += bytes.copy(compressed, filled, at + 8, at + 8 + length);
    }
    at += 12 + length;
  }
  const expected = inflatedSize(header);
  const size = `${header.width}x${header.height}`;
  let inflated: Buffer;
  try {
    inflated = inflateSync(compressed, { maxOutputLength: expected });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return refuse(`its image data inflates to more than the ${expected} bytes a ${size} image needs`);
    }
    return refuse(`its image data cannot be inflated: ${(error as Error).message}`, truncated);
  }
  if (inflated.length !== expected) {
    refuse(
      `its image data holds ${inflated.length} of the ${expected} bytes a ${size} image needs; it is truncated or corrupt`,
      truncated,
    );
  }
  return header;
}

function parseHeader(path: string, ihdr: Buffer, refuse: (reason: string) => never): PngHeader {
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [bitDepth, colorType, compression, filter, interlace] = ihdr.subarray(8, 13);
  if (width === 0 || height === 0) refuse(`its header says ${width}x${height} pixels`);
  if (width > MAX_PNG_SIDE || height > MAX_PNG_SIDE) {
    throw new PngError(
      `${path} is ${width}x${height} pixels; PNGs over ${MAX_PNG_SIDE}x${MAX_PNG_SIDE} are refused ` +
        'before decoding. Scale the image down and try again.',
    );
  }
  const color = COLOR_TYPES[colorType!];
  if (color === undefined) refuse(`its header says color type ${colorType}, which PNG does not define`);
  if (!color!.bitDepths.includes(bitDepth!)) {
    refuse(`its header says bit depth ${bitDepth} with color type ${colorType}, which PNG does not allow`);
  }
  if (compression !== 0 || filter !== 0 || (interlace !== 0 && interlace !== 1)) {
    refuse(
      `its header says compression ${compression}, filter ${filter}, interlace ${interlace}; PNG defines 0, 0 and 0 or 1`,
    );
  }
  return { width, height, bitDepth: bitDepth!, colorType: colorType!, interlaced: interlace === 1, end: 0 };
}

/**
 * Bytes of filtered scanlines that a PNG with this header inflates to (PNG spec 7.2, 8.2): per row, a filter
 * byte and the row's packed samples. An interlaced image is stored as seven smaller images, the Adam7 passes.
 */
function inflatedSize({ width, height, bitDepth, colorType, interlaced }: PngHeader): number {
  const bitsPerPixel = bitDepth * COLOR_TYPES[colorType]!.samples;
  const imageBytes = (columns: number, rows: number) =>
    columns <= 0 || rows <= 0 ? 0 : rows * (1 + Math.ceil((columns * bitsPerPixel) / 8));
  if (!interlaced) return imageBytes(width, height);
  return ADAM7_PASSES.reduce(
    (sum, [x0, y0, dx, dy]) => sum + imageBytes(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)),
    0,
  );
}
