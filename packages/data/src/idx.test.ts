import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipIfNeeded, IdxFormatError, parseIdxImages, parseIdxLabels } from './idx';
import { MAX_IDX_FILE_BYTES } from './limits';
import { readRealMnistFile, sameBytes } from './test-utils/mnist-files';

/** A big-endian IDX header followed by `body`. */
function idx(magic: number, dims: number[], body: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(4 + dims.length * 4 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  for (const [i, d] of dims.entries()) view.setUint32(4 + i * 4, d);
  out.set(body, 4 + dims.length * 4);
  return out;
}

describe('parseIdxImages / parseIdxLabels on the real MNIST files', () => {
  it('reads the training split: 60000 images of 28x28 and 60000 labels', () => {
    const images = parseIdxImages(readRealMnistFile('trainImages'), 'train-images');
    const labels = parseIdxLabels(readRealMnistFile('trainLabels'), 'train-labels');
    expect([images.count, images.rows, images.cols, images.pixels.length]).toEqual([
      60000,
      28,
      28,
      60000 * 784,
    ]);
    expect(labels.count).toBe(60000);
    expect(labels.labels.length).toBe(60000);
  });

  it('reads the test split: 10000 images, the first labels are 7 2 1 0 4', () => {
    const bytes = readRealMnistFile('testImages');
    const images = parseIdxImages(bytes, 't10k-images');
    const labels = parseIdxLabels(readRealMnistFile('testLabels'), 't10k-labels');
    expect([images.count, images.rows, images.cols]).toEqual([10000, 28, 28]);
    expect(Array.from(labels.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    // Pixels start right after the 16-byte header.
    expect(images.pixels[0]).toBe(bytes[16]);
    expect(images.pixels[images.pixels.length - 1]).toBe(bytes[bytes.length - 1]);
    // Every digit occurs in the test labels, roughly 1000 times each.
    const histogram = new Array(10).fill(0);
    for (const l of labels.labels) histogram[l]++;
    for (const n of histogram) expect(n).toBeGreaterThan(800);
  });
});

describe('corrupt IDX files', () => {
  const realLabels = readRealMnistFile('testLabels');
  const realImages = readRealMnistFile('testImages');

  it('a truncated image file says how many bytes were expected and found', () => {
    const cut = realImages.subarray(0, 5000);
    expect(() => parseIdxImages(cut, 'cut-images')).toThrow(IdxFormatError);
    expect(() => parseIdxImages(cut, 'cut-images')).toThrow(
      /^cut-images: truncated: .*10000 images of 28x28.*expected 7840016 bytes, got 5000/,
    );
  });

  it('a file shorter than the header is truncated, not a crash', () => {
    expect(() => parseIdxImages(realImages.subarray(0, 10), 'x')).toThrow(
      /truncated: expected at least 16 bytes/,
    );
    expect(() => parseIdxLabels(new Uint8Array(2), 'y')).toThrow(/truncated: expected at least 4 bytes/);
  });

  it('a header that claims 1e9 images is an error, never an allocation', () => {
    const lying = idx(2051, [1_000_000_000, 28, 28], new Uint8Array(784));
    expect(() => parseIdxImages(lying, 'lying')).toThrow(
      /lying: truncated: .*expected 784000000016 bytes, got 800/,
    );
    const lyingLabels = idx(2049, [1_000_000_000], new Uint8Array(3));
    expect(() => parseIdxLabels(lyingLabels, 'lying-labels')).toThrow(/expected 1000000008 bytes, got 11/);
  });

  it('trailing garbage is reported', () => {
    const long = new Uint8Array(realLabels.length + 3);
    long.set(realLabels);
    expect(() => parseIdxLabels(long, 'long')).toThrow(/long: has 3 bytes of trailing garbage/);
  });

  it('wrong magic numbers name the file and hint at swapped files or gzip', () => {
    expect(() => parseIdxImages(realLabels, 'labels-as-images')).toThrow(
      /labels-as-images: wrong magic number 2049 .*label file: are the images and labels files swapped/,
    );
    expect(() => parseIdxLabels(realImages, 'images-as-labels')).toThrow(
      /wrong magic number 2051 .*image file/,
    );
    expect(() => parseIdxLabels(gzipSync(realLabels), 'f.gz')).toThrow(
      /f.gz: is gzip-compressed.*gunzipIfNeeded/,
    );
    expect(() => parseIdxImages(new TextEncoder().encode('<html>404</html>'), 'page')).toThrow(
      /page: wrong magic number .*not an MNIST IDX file/,
    );
  });

  it('a label outside 0..9 is rejected with its index', () => {
    const bad = idx(2049, [4], Uint8Array.from([3, 9, 10, 1]));
    expect(() => parseIdxLabels(bad, 'bad-labels')).toThrow(
      /bad-labels: label 2 is 10, but MNIST labels are 0..9/,
    );
  });

  it('zero-sized images are rejected', () => {
    expect(() => parseIdxImages(idx(2051, [1, 0, 28]), 'flat')).toThrow(/0x28 images/);
  });

  it('errors are IdxFormatError with the source', () => {
    try {
      parseIdxLabels(realImages, 'some/path');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(IdxFormatError);
      expect((error as IdxFormatError).source).toBe('some/path');
    }
  });
});

describe('gunzipIfNeeded', () => {
  const realLabels = readRealMnistFile('trainLabels');

  it('decompresses real MNIST bytes gzipped with node:zlib', async () => {
    const out = await gunzipIfNeeded(gzipSync(realLabels), 'train-labels.gz');
    expect(sameBytes(out, realLabels)).toBe(true);
    expect(parseIdxLabels(out).count).toBe(60000);
  });

  it('returns bytes without the gzip magic unchanged', async () => {
    expect(await gunzipIfNeeded(realLabels)).toBe(realLabels);
  });

  it('a corrupt or truncated gzip gives an IdxFormatError naming the file', async () => {
    const gz = gzipSync(realLabels);
    const truncated = gz.subarray(0, gz.length >> 1);
    await expect(gunzipIfNeeded(truncated, 'cut.gz')).rejects.toThrow(IdxFormatError);
    await expect(gunzipIfNeeded(truncated, 'cut.gz')).rejects.toThrow(
      /^cut.gz: is gzip-compressed but cannot be/,
    );
    const corrupt = Uint8Array.from(gz);
    for (let i = 20; i < 60; i++) corrupt[i]! ^= 0xa5;
    await expect(gunzipIfNeeded(corrupt, 'corrupt.gz')).rejects.toThrow(
      /corrupt.gz: .*corrupt or was cut short/,
    );
  });
});

describe('gunzipIfNeeded caps its output while inflating', () => {
  it('stops past the size the IDX header declares', async () => {
    // A header for 10 labels, then 4 MiB of zeros: it compresses to a few KiB.
    const liar = gzipSync(idx(2049, [10], new Uint8Array(4 * 1024 * 1024)));
    await expect(gunzipIfNeeded(liar, 'liar.gz')).rejects.toThrow(
      new IdxFormatError(
        'liar.gz',
        'inflates to more than the 18 bytes its IDX header declares (10 labels); stopped inflating. ' +
          'The file is corrupt or not an MNIST file: delete it and fetch it again.',
      ),
    );
  });

  it('refuses, from the header alone, a file that declares more than the cap', async () => {
    const huge = gzipSync(idx(2051, [0xffffffff, 28, 28], new Uint8Array(784)));
    await expect(gunzipIfNeeded(huge, 'huge.gz')).rejects.toThrow(
      `huge.gz: its IDX header declares 4294967295 images of 28x28 (${16 + 0xffffffff * 784} bytes), more ` +
        `than ${MAX_IDX_FILE_BYTES} bytes, the 64 MiB limit for an IDX file; stopped inflating.`,
    );
  });

  it('stops content that is no IDX file at maxBytes, named as the caller says', async () => {
    const zeros = gzipSync(new Uint8Array(1024 * 1024));
    await expect(
      gunzipIfNeeded(zeros, 'zeros.gz', { maxBytes: 1000, maxBytesMeaning: 'the size of the official x' }),
    ).rejects.toThrow(
      'zeros.gz: inflates to more than 1000 bytes, the size of the official x; stopped inflating. It is not ' +
        'an MNIST file (or is a decompression bomb): delete it and fetch the official file.',
    );
    // Exactly at the cap is fine.
    expect((await gunzipIfNeeded(gzipSync(new Uint8Array(1000)), 'z.gz', { maxBytes: 1000 })).length).toBe(
      1000,
    );
  });

  it('a maxBytes above MAX_IDX_FILE_BYTES (or no number) does not raise the hard limit', async () => {
    const header = idx(2051, [100_000, 28, 28]);
    for (const maxBytes of [2 * MAX_IDX_FILE_BYTES, Number.NaN, -1]) {
      await expect(gunzipIfNeeded(gzipSync(header), 'big.gz', { maxBytes })).rejects.toThrow(
        /big\.gz: its IDX header declares 100000 images of 28x28 \(78400016 bytes\), more than 67108864 bytes/,
      );
    }
  });

  it('multi-member gzip is inflated whole, and still capped', async () => {
    const labels = readRealMnistFile('testLabels');
    const twice = new Uint8Array([...gzipSync(labels), ...gzipSync(labels)]);
    await expect(gunzipIfNeeded(twice, 'twice.gz')).rejects.toThrow(
      /twice\.gz: inflates to more than the 10008 bytes its IDX header declares \(10000 labels\)/,
    );
  });
});
