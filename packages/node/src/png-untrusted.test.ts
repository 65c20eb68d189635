// PNG files from strangers: bombs, short image data, FIFOs, damaged chunks, and seeded mutations of real PNGs.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, createDeflate, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutants } from '../../../test-utils/fuzz';
import { MAX_PNG_FILE_BYTES, MAX_PNG_SIDE, PngError, readPngGray, writePng } from './png';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-node-png-untrusted-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data, CRC (a wrong one when `crc` is given). */
function chunk(type: string, data: Uint8Array, crc?: number): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc ?? crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

interface HeaderFields {
  width: number;
  height: number;
  bitDepth?: number;
  colorType?: number;
  interlace?: number;
}

function ihdr({ width, height, bitDepth = 8, colorType = 0, interlace = 0 }: HeaderFields): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([bitDepth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

/**
 * A PNG of the given header whose IDAT holds `compressed` (a zlib stream of filtered scanlines), with
 * `before` (e.g. a PLTE chunk) between IHDR and IDAT.
 */
function pngFile(fields: HeaderFields, compressed: Uint8Array, before: Buffer[] = []): Buffer {
  return Buffer.concat([
    SIGNATURE,
    ihdr(fields),
    ...before,
    chunk('IDAT', compressed),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** Filtered scanlines (filter byte 0) of an 8-bit gray image: a white diagonal on black. */
function grayScanlines(width: number, height: number): Buffer {
  const rows = Buffer.alloc(height * (1 + width));
  for (let y = 0; y < height; y++) rows[y * (1 + width) + 1 + (y % width)] = 255;
  return rows;
}

/** A `side`x`side` 8-bit gray PNG of zero rows, deflated as a stream: it never holds the inflated image. */
async function pngBomb(side: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 1 });
  const parts: Buffer[] = [];
  deflate.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(1 + side);
  // A few thousand rows are enough: the header alone must get the file refused.
  for (let y = 0; y < 2048; y++) {
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  return pngFile({ width: side, height: side }, Buffer.concat(parts));
}

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** The PngError that readPngGray gives for `path`: one line that names the file. */
async function refusal(path: string): Promise<string> {
  const error = await readPngGray(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${path} should be refused`).toBeInstanceOf(PngError);
  const { message } = error as PngError;
  expect(message).toContain(path);
  expect(message).not.toContain('\n');
  return message;
}

describe('readPngGray refuses hostile PNG files with one line naming the file', () => {
  it('refuses a 20000x20000 PNG bomb from its header, before decoding, naming the limit', async () => {
    const path = await write('bomb.png', await pngBomb(20_000));
    const message = await refusal(path);
    expect(message).toBe(
      `${path} is 20000x20000 pixels; PNGs over ${MAX_PNG_SIDE}x${MAX_PNG_SIDE} are refused before decoding. ` +
        'Scale the image down and try again.',
    );
  });

  it('reads an image at the size limit, and refuses one pixel more', async () => {
    const onePixelRow = (width: number) => deflateSync(Buffer.alloc(1 + width));
    const atLimit = await write(
      'wide.png',
      pngFile({ width: MAX_PNG_SIDE, height: 1 }, onePixelRow(MAX_PNG_SIDE)),
    );
    expect((await readPngGray(atLimit)).width).toBe(MAX_PNG_SIDE);
    const over = await write(
      'too-wide.png',
      pngFile({ width: MAX_PNG_SIDE + 1, height: 1 }, onePixelRow(MAX_PNG_SIDE + 1)),
    );
    expect(await refusal(over)).toContain(`is ${MAX_PNG_SIDE + 1}x1 pixels`);
  });

  it('refuses a 28x28 PNG whose image data inflates to only 100 bytes (it was read as black before)', async () => {
    const path = await write('short.png', pngFile({ width: 28, height: 28 }, deflateSync(Buffer.alloc(100))));
    expect(await refusal(path)).toBe(
      `${path} is not a readable PNG file (its image data holds 100 of the 812 bytes a 28x28 image needs; ` +
        'it is truncated or corrupt). Copy the whole file again, or save the image as PNG again.',
    );
  });

  it('refuses image data that is no zlib stream, a cut zlib stream, and too much image data', async () => {
    const full = deflateSync(grayScanlines(28, 28));
    const garbage = await write('garbage.png', pngFile({ width: 28, height: 28 }, Buffer.alloc(100, 7)));
    expect(await refusal(garbage)).toMatch(/its image data cannot be inflated: incorrect header check/);
    const cut = await write('cut.png', pngFile({ width: 28, height: 28 }, full.subarray(0, full.length - 8)));
    expect(await refusal(cut)).toMatch(/its image data cannot be inflated: unexpected end of file/);
    const long = await write('long.png', pngFile({ width: 28, height: 27 }, full));
    expect(await refusal(long)).toMatch(/inflates to more than the 783 bytes a 28x27 image needs/);
  });

  it('checks the image data of interlaced PNGs against their seven passes', async () => {
    // Adam7 passes of a 3x3 8-bit gray image: 1x1, none, none, 1x1, 2x1, 1x2, 3x1 pixels (each row + 1 filter byte).
    const passBytes = 2 + 2 + 3 + 2 * 2 + 4;
    const exact = await write(
      'interlaced.png',
      pngFile({ width: 3, height: 3, interlace: 1 }, deflateSync(Buffer.alloc(passBytes))),
    );
    expect(await readPngGray(exact)).toEqual({ width: 3, height: 3, pixels: new Uint8Array(9) });
    const short = await write(
      'interlaced-short.png',
      pngFile({ width: 3, height: 3, interlace: 1 }, deflateSync(Buffer.alloc(passBytes - 1))),
    );
    expect(await refusal(short)).toContain(
      `holds ${passBytes - 1} of the ${passBytes} bytes a 3x3 image needs`,
    );
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const path = join(dir, 'fifo.png');
    execFileSync('mkfifo', [path]);
    expect(await refusal(path)).toBe(
      `${path} is a FIFO (named pipe), not a regular file; give the path of a PNG file.`,
    );
  });

  it('refuses a directory, and a file over the size cap without reading it', async () => {
    expect(await refusal(dir)).toContain('is a directory, not a regular file');
    const path = await write(
      'huge.png',
      await readFile(
        await write('small.png', pngFile({ width: 1, height: 1 }, deflateSync(Buffer.alloc(2)))),
      ),
    );
    await truncate(path, MAX_PNG_FILE_BYTES + 1); // sparse: takes no disk space
    expect(await refusal(path)).toBe(
      `${path} has ${MAX_PNG_FILE_BYTES + 1} bytes; PNG files over 64 MiB are refused. Save the image smaller and try again.`,
    );
  });

  it.each<[string, HeaderFields, RegExp]>([
    ['a zero width', { width: 0, height: 28 }, /its header says 0x28 pixels/],
    ['a width of 2^32-1', { width: 0xffffffff, height: 1 }, /is 4294967295x1 pixels; PNGs over/],
    [
      'an undefined color type',
      { width: 28, height: 28, colorType: 5 },
      /color type 5, which PNG does not define/,
    ],
    ['RGB at 4 bits', { width: 28, height: 28, colorType: 2, bitDepth: 4 }, /bit depth 4 with color type 2/],
    ['interlace method 2', { width: 28, height: 28, interlace: 2 }, /interlace 2; PNG defines/],
  ])('refuses an IHDR with %s', async (name, fields, message) => {
    const path = await write(
      `${name.replaceAll(/\W/g, '-')}.png`,
      pngFile(fields, deflateSync(grayScanlines(28, 28))),
    );
    expect(await refusal(path)).toMatch(message);
  });

  it('refuses chunks with a wrong CRC or a length past the end, and a file without IDAT or IEND', async () => {
    const scanlines = deflateSync(grayScanlines(28, 28));
    const badCrc = Buffer.concat([
      SIGNATURE,
      ihdr({ width: 28, height: 28 }),
      chunk('IDAT', scanlines, 0x12345678),
    ]);
    expect(await refusal(await write('bad-crc.png', badCrc))).toMatch(
      /the IDAT chunk at byte 33 fails its CRC check/,
    );

    const longChunk = pngFile({ width: 28, height: 28 }, scanlines);
    longChunk.writeUInt32BE(0x7fffffff, 33);
    expect(await refusal(await write('long-chunk.png', longChunk))).toMatch(
      /the IDAT chunk at byte 33 runs past the end of the file; it is truncated/,
    );

    const noIdat = Buffer.concat([
      SIGNATURE,
      ihdr({ width: 28, height: 28 }),
      chunk('IEND', new Uint8Array()),
    ]);
    expect(await refusal(await write('no-idat.png', noIdat))).toMatch(/it has no IDAT chunk/);

    const noIend = Buffer.concat([SIGNATURE, ihdr({ width: 28, height: 28 }), chunk('IDAT', scanlines)]);
    expect(await refusal(await write('no-iend.png', noIend))).toMatch(/it ends before its IEND chunk/);
  });

  it('reads a valid PNG with bytes after IEND, as other readers do', async () => {
    const png = pngFile({ width: 28, height: 28 }, deflateSync(grayScanlines(28, 28)));
    const image = await readPngGray(
      await write('trailing.png', Buffer.concat([png, Buffer.from('trailing')])),
    );
    expect(image.pixels[0]).toBe(255);
    expect(image.pixels[29]).toBe(255);
    expect(image.pixels.reduce((sum, v) => sum + v, 0)).toBe(28 * 255);
  });
});

/** Rewrites the CRC of every chunk that fits, so that a mutant gets past the CRC check to the decoder. */
function withFixedCrcs(bytes: Uint8Array): Uint8Array {
  const out = Buffer.from(bytes);
  for (let at = 8; at + 12 <= out.length; ) {
    const length = out.readUInt32BE(at);
    if (length > out.length - at - 12) break;
    out.writeUInt32BE(crc32(out.subarray(at + 4, at + 8 + length)), at + 8 + length);
    at += 12 + length;
  }
  return out;
}

/** Reads every mutant: each must be refused with a PngError naming its file, or be a consistent image. */
async function expectRefusedOrValid(
  name: string,
  all: Iterable<{ seed: number; how: string; bytes: Uint8Array }>,
): Promise<{ refusals: string[]; read: number }> {
  const refusals: string[] = [];
  let read = 0;
  for (const { seed, how, bytes } of all) {
    const path = await write(`${name}.png`, bytes);
    const context = `${name} mutant seed ${seed} (${how})`;
    try {
      const image = await readPngGray(path);
      expect(image.width, context).toBeLessThanOrEqual(MAX_PNG_SIDE);
      expect(image.height, context).toBeLessThanOrEqual(MAX_PNG_SIDE);
      expect(image.pixels.length, context).toBe(image.width * image.height);
      read++;
    } catch (error) {
      expect(error, `${context}: ${String(error)}`).toBeInstanceOf(PngError);
      const { message } = error as PngError;
      expect(message, context).toContain(path);
      expect(message, context).not.toContain('\n');
      expect(message, context).not.toMatch(/TypeError|RangeError|out of range|undefined|NaN/);
      refusals.push(message);
    }
  }
  return { refusals, read };
}

describe('readPngGray on seeded mutations (a failure names the seed and the edits that reproduce it)', () => {
  it('mutations of a real PNG written by writePng', async () => {
    const path = join(dir, 'digit.png');
    const pixels = new Uint8Array(28 * 28).map((_, i) => (i * 37) % 256);
    await writePng(path, { width: 28, height: 28, pixels });
    const original = await readFile(path);
    const { refusals } = await expectRefusedOrValid('writepng', mutants(original, 300, 1));
    expect(refusals.length).toBeGreaterThan(0);
  });

  it('mutations of the chunk headers, with CRCs rewritten so that they reach the decoder', async () => {
    const original = pngFile({ width: 28, height: 28 }, deflateSync(grayScanlines(28, 28)));
    const fixed = function* () {
      for (const mutant of mutants(original, 300, 2, 64))
        yield { ...mutant, bytes: withFixedCrcs(mutant.bytes) };
    };
    const { refusals } = await expectRefusedOrValid('crc-fixed', fixed());
    // With the CRCs right, the refusals come from the checks after it: the header, sizes, the image data.
    expect(refusals.filter((message) => !message.includes('CRC')).length).toBeGreaterThan(200);
  });

  it('mutations of the inflated scanlines of every color type and bit depth, re-deflated', async () => {
    // Four palette entries for up to sixteen 4-bit indices: mutants may point past the palette.
    const palette = chunk('PLTE', new Uint8Array([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]));
    const headers: Array<HeaderFields & { bitDepth: number; colorType: number; samples: number }> = [
      { width: 9, height: 7, bitDepth: 1, colorType: 0, samples: 1 },
      { width: 9, height: 7, bitDepth: 16, colorType: 0, samples: 1 },
      { width: 9, height: 7, bitDepth: 8, colorType: 2, samples: 3 },
      { width: 9, height: 7, bitDepth: 4, colorType: 3, samples: 1 },
      { width: 9, height: 7, bitDepth: 8, colorType: 4, samples: 2 },
      { width: 9, height: 7, bitDepth: 16, colorType: 6, samples: 4 },
    ];
    let read = 0;
    for (const fields of headers) {
      const rowBytes = 1 + Math.ceil((fields.width * fields.samples * fields.bitDepth) / 8);
      // Filter byte 0 on every row; the samples are palette index 1 or a mid gray.
      const scanlines = Buffer.alloc(fields.height * rowBytes, 0x11);
      for (let y = 0; y < fields.height; y++) scanlines[y * rowBytes] = 0;
      const before = fields.colorType === 3 ? [palette] : [];
      const name = `scanlines-${fields.colorType}-${fields.bitDepth}`;
      const reDeflated = function* () {
        for (const mutant of mutants(scanlines, 100, 100 + fields.colorType * 17 + fields.bitDepth)) {
          yield { ...mutant, bytes: pngFile(fields, deflateSync(mutant.bytes), before) };
        }
      };
      read += (await expectRefusedOrValid(name, reDeflated())).read;
    }
    // Some mutants keep the scanlines' length and filter bytes: they must decode, not just be refused.
    expect(read).toBeGreaterThan(0);
  });
});
