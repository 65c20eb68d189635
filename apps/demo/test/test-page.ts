/** Test helpers: build a test page from the packages' sources with vite, and the files such pages fetch. */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build, defaultClientConditions } from 'vite';
import type { MnistFileKey } from '../../../packages/data/src/mnist';
import { readRealMnistFile } from '../../../packages/data/src/test-utils/mnist-files';

/** Builds the page in `root` from the packages' sources (the "@lenet/source" condition) into `outDir`. */
export async function buildTestPage(root: string, outDir: string): Promise<void> {
  await build({
    configFile: false,
    envFile: false,
    root,
    base: './',
    logLevel: 'warn',
    publicDir: false,
    resolve: { conditions: ['@lenet/source', ...defaultClientConditions], dedupe: ['@tensorflow/tfjs-core'] },
    // Workers import tfjs, whose backends are split into chunks: only ES workers can load chunks.
    worker: { format: 'es' },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // A test page: minifying would only cost build time and make stack traces unreadable.
      minify: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 4096,
    },
  });
}

/**
 * Copies tfjs-backend-wasm's binaries into `site`/tfjs-wasm/: bundlers do not copy them, and the pages'
 * setupBackend wasmPaths points there, as the demo's does.
 */
export async function copyTfjsWasm(site: string): Promise<void> {
  const wasmDist = join(
    dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')),
    'dist',
  );
  await mkdir(join(site, 'tfjs-wasm'));
  for (const file of (await readdir(wasmDist)).filter((name) => name.endsWith('.wasm'))) {
    await copyFile(join(wasmDist, file), join(site, 'tfjs-wasm', file));
  }
}

/** The first `count` items of a real MNIST file, with the header's count rewritten to match. */
export function firstMnistItems(key: MnistFileKey, count: number): Uint8Array {
  const images = key.endsWith('Images');
  const bytes = readRealMnistFile(key).slice(0, (images ? 16 : 8) + count * (images ? 28 * 28 : 1));
  new DataView(bytes.buffer).setUint32(4, count);
  return bytes;
}
