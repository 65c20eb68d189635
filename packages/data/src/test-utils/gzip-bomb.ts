import { createGzip } from 'node:zlib';

/**
 * A gzip stream that inflates to `prefix` followed by `zeroBytes` zeros, made by streaming so that the
 * inflated data is never held in memory: 256 MiB of zeros compress to about 256 KiB.
 */
export async function makeGzipBomb(zeroBytes: number, prefix = new Uint8Array(0)): Promise<Uint8Array> {
  const gzip = createGzip();
  const parts: Buffer[] = [];
  gzip.on('data', (part: Buffer) => parts.push(part));
  const finished = new Promise<void>((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  gzip.write(prefix);
  const zeros = new Uint8Array(1024 * 1024);
  for (let left = zeroBytes; left > 0; left -= zeros.length) {
    const chunk = left >= zeros.length ? zeros : zeros.subarray(0, left);
    if (!gzip.write(chunk)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await finished;
  const out = Buffer.concat(parts);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
