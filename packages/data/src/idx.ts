/**
 * Reader for the IDX format that MNIST ships in (http://yann.lecun.com/exdb/mnist/):
 * a big-endian header (magic number, then one uint32 per dimension) followed by raw unsigned bytes.
 */

import { concatBytes } from './concat-bytes';
import { capAt, describeBytes, MAX_IDX_FILE_BYTES } from './limits';

/** A stack of greyscale images read from an IDX3 file. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count * rows * cols bytes, row-major, image after image (a view into the parsed bytes, not a copy). */
  pixels: Uint8Array;
}

/** Class labels read from an IDX1 file. */
export interface IdxLabels {
  count: number;
  /** One byte per item, each 0..9 (a view into the parsed bytes, not a copy). */
  labels: Uint8Array;
}

/** Bytes that are not a well-formed MNIST IDX file (or not a readable gzip of one). The message names the file. */
export class IdxFormatError extends Error {
  /** Where the bytes came from (a path, URL or file name), as given by the caller. */
  readonly source: string;

  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'IdxFormatError';
    this.source = source;
  }
}

/** IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the number of dimensions. */
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;
const IMAGES_HEADER_BYTES = 16;
const LABELS_HEADER_BYTES = 8;
const LABEL_COUNT = 10;

/**
 * Parses an IDX3 image file (magic 2051: unsigned bytes, 3 dimensions).
 * @param bytes the whole, uncompressed file (see {@link gunzipIfNeeded}).
 * @param source a name for error messages, such as the file path.
 * @throws IdxFormatError on a wrong magic number, a truncated file, a header that claims more data than
 *   the bytes hold, or trailing bytes.
 */
export function parseIdxImages(bytes: Uint8Array, source = 'IDX image file'): IdxImages {
  checkMagic(bytes, source, IMAGES_MAGIC);
  requireLength(bytes, source, IMAGES_HEADER_BYTES, 'the 16-byte header');
  const view = dataView(bytes);
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows === 0 || cols === 0) {
    throw new IdxFormatError(
      source,
      `header declares ${rows}x${cols} images; rows and columns must be positive.`,
    );
  }
  // Computed in float64 (exact up to 2^53), so a lying header is caught here and never reaches an allocation.
  const expected = IMAGES_HEADER_BYTES + count * rows * cols;
  checkExactLength(bytes, source, expected, `${count} images of ${rows}x${cols}`);
  return { count, rows, cols, pixels: bytes.subarray(IMAGES_HEADER_BYTES, expected) };
}

/**
 * Parses an IDX1 label file (magic 2049: unsigned bytes, 1 dimension) and checks every label is 0..9.
 * @param bytes the whole, uncompressed file (see {@link gunzipIfNeeded}).
 * @param source a name for error messages, such as the file path.
 * @throws IdxFormatError on a wrong magic number, a wrong length or a label outside 0..9.
 */
export function parseIdxLabels(bytes: Uint8Array, source = 'IDX label file'): IdxLabels {
  checkMagic(bytes, source, LABELS_MAGIC);
  requireLength(bytes, source, LABELS_HEADER_BYTES, 'the 8-byte header');
  const count = dataView(bytes).getUint32(4);
  const expected = LABELS_HEADER_BYTES + count;
  checkExactLength(bytes, source, expected, `${count} labels`);
  const labels = bytes.subarray(LABELS_HEADER_BYTES, expected);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= LABEL_COUNT) {
      throw new IdxFormatError(
        source,
        `label ${i} is ${labels[i]}, but MNIST labels are 0..9. Is this a label file of another dataset?`,
      );
    }
  }
  return { count, labels };
}

/** Options of {@link gunzipIfNeeded}. */
export interface GunzipOptions {
  /**
   * Refuse to inflate beyond this many bytes (default, and upper bound, {@link MAX_IDX_FILE_BYTES}).
   * Pass the exact size of a known file, such as an official MNIST file's `bytes`.
   */
  maxBytes?: number;
  /** What `maxBytes` is, for the error message, e.g. "the size of the official t10k-labels-idx1-ubyte". */
  maxBytesMeaning?: string;
}

/**
 * Returns the decompressed bytes if `bytes` start with the gzip magic (1f 8b), else `bytes` unchanged.
 * Uses the standard DecompressionStream (Node 18+ and all current browsers).
 *
 * The output is capped while inflating, so a decompression bomb costs no more than the cap: at the size
 * the IDX header promises (read from the first inflated bytes), and at `options.maxBytes` (at most
 * {@link MAX_IDX_FILE_BYTES}). Inflating stops as soon as either is exceeded.
 * @throws IdxFormatError naming `source` when the gzip data is corrupt or truncated, or inflates beyond a cap.
 */
export async function gunzipIfNeeded(
  bytes: Uint8Array,
  source = 'gzip data',
  options: GunzipOptions = {},
): Promise<Uint8Array> {
  if (!looksLikeGzip(bytes)) return bytes;
  const limit = outputLimit(options);
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'))
    .getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let headerRead = false;
  let declared: DeclaredSize | undefined;
  try {
    for (;;) {
      const { done, value } = await readInflated(reader, source);
      if (done) break;
      chunks.push(value);
      length += value.length;
      if (!headerRead && length >= IMAGES_HEADER_BYTES) {
        headerRead = true;
        declared = declaredSize(concatBytes(chunks, length).subarray(0, IMAGES_HEADER_BYTES));
        if (declared) checkDeclaredFits(declared, limit, source);
      }
      if (declared && length > declared.bytes) {
        throw new IdxFormatError(
          source,
          `inflates to more than the ${declared.bytes} bytes its IDX header declares (${declared.what}); ` +
            'stopped inflating. The file is corrupt or not an MNIST file: delete it and fetch it again.',
        );
      }
      if (length > limit.bytes) {
        throw new IdxFormatError(
          source,
          `inflates to more than ${limit.bytes} bytes, ${limit.meaning}; stopped inflating. ` +
            'It is not an MNIST file (or is a decompression bomb): delete it and fetch the official file.',
        );
      }
    }
  } catch (error) {
    // Stops the inflater and releases what it holds; the stream may already have failed, so ignore that.
    await reader.cancel().catch(() => {});
    throw error;
  }
  return concatBytes(chunks, length);
}

/** The smaller of the caller's cap and the hard one, and how to name it in an error message. */
function outputLimit(options: GunzipOptions): { bytes: number; meaning: string } {
  const bytes = capAt(options.maxBytes);
  if (bytes < MAX_IDX_FILE_BYTES) {
    return { bytes, meaning: options.maxBytesMeaning ?? 'the limit for this file' };
  }
  return {
    bytes: MAX_IDX_FILE_BYTES,
    meaning: `the ${describeBytes(MAX_IDX_FILE_BYTES)} limit for an IDX file`,
  };
}

async function readInflated(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  source: string,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  try {
    return await reader.read();
  } catch (error) {
    // Chromium's inflater ends its messages with a full stop; Node's does not.
    const reason = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
    throw new IdxFormatError(
      source,
      `is gzip-compressed but cannot be decompressed (${reason}); the file is corrupt or was cut short. ` +
        'Delete it and fetch it again.',
    );
  }
}

/** The file size an IDX header declares, and what it declares, for error messages. */
interface DeclaredSize {
  bytes: number;
  what: string;
}

/**
 * The size an image or label header promises, or undefined for any other magic number (the parsers
 * report that, and check the rest of the header, once inflating is done).
 */
function declaredSize(header: Uint8Array): DeclaredSize | undefined {
  const view = dataView(header);
  const magic = view.getUint32(0);
  if (magic === IMAGES_MAGIC) {
    const [count, rows, cols] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
    // float64 is exact up to 2^53; anything larger is far over every cap anyway.
    return { bytes: IMAGES_HEADER_BYTES + count * rows * cols, what: `${count} images of ${rows}x${cols}` };
  }
  if (magic === LABELS_MAGIC) {
    const count = view.getUint32(4);
    return { bytes: LABELS_HEADER_BYTES + count, what: `${count} labels` };
  }
  return undefined;
}

function checkDeclaredFits(
  declared: DeclaredSize,
  limit: { bytes: number; meaning: string },
  source: string,
) {
  if (declared.bytes === undefined || declared.bytes <= limit.bytes) return;
  throw new IdxFormatError(
    source,
    `its IDX header declares ${declared.what} (${declared.bytes} bytes), more than ${limit.bytes} bytes, ` +
      `${limit.meaning}; stopped inflating. The file is corrupt or not an MNIST file: delete it and fetch it again.`,
  );
}

function looksLikeGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function requireLength(bytes: Uint8Array, source: string, needed: number, what: string): void {
  if (bytes.length < needed) {
    throw new IdxFormatError(
      source,
      `truncated: expected at least ${needed} bytes for ${what}, got ${bytes.length}.`,
    );
  }
}

function checkExactLength(bytes: Uint8Array, source: string, expected: number, what: string): void {
  if (bytes.length < expected) {
    throw new IdxFormatError(
      source,
      `truncated: the header declares ${what}, so expected ${expected} bytes, got ${bytes.length}. ` +
        'The file was cut short or its header is wrong; fetch it again.',
    );
  }
  if (bytes.length > expected) {
    throw new IdxFormatError(
      source,
      `has ${bytes.length - expected} bytes of trailing garbage: the header declares ${what} ` +
        `(${expected} bytes), got ${bytes.length}.`,
    );
  }
}

function checkMagic(bytes: Uint8Array, source: string, wanted: number): void {
  const kind = wanted === IMAGES_MAGIC ? 'an IDX image file' : 'an IDX label file';
  if (looksLikeGzip(bytes)) {
    throw new IdxFormatError(
      source,
      `is gzip-compressed, not ${kind}; decompress it first (gunzipIfNeeded does that).`,
    );
  }
  requireLength(bytes, source, 4, 'the magic number');
  const magic = dataView(bytes).getUint32(0);
  if (magic === wanted) return;
  let hint = 'It is not an MNIST IDX file.';
  if (magic === IMAGES_MAGIC)
    hint = 'It looks like an IDX image file: are the images and labels files swapped?';
  if (magic === LABELS_MAGIC)
    hint = 'It looks like an IDX label file: are the images and labels files swapped?';
  throw new IdxFormatError(
    source,
    `wrong magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}); ${kind} starts with ${wanted}. ${hint}`,
  );
}
