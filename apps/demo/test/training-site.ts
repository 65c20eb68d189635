/**
 * The training page (training-page/) as a site: built from the packages' sources with vite, with tfjs's .wasm
 * files and the first images of real MNIST next to it, opened in Debian's Chromium. Shared by
 * wasm-training.test.ts and scripts/bench-training.mjs.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { build, defaultClientConditions } from 'vite';
import type { MnistFileKey } from '../../../packages/data/src/mnist';
import { readRealMnistFile } from '../../../packages/data/src/test-utils/mnist-files';
import { CROSS_ORIGIN_ISOLATION, launchChromium, serveStatic } from './browser';
import type { InputName } from './training-page/protocol';

const PAGE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'training-page');

/** Training images served: 200 batches of 64, and enough for the bench's batches of 256. */
export const TRAIN_IMAGES = 12_800;
/** Test images served, for the accuracy check. */
export const TEST_IMAGES = 1000;

/** The first `count` items of a real MNIST file, with the header's count rewritten to match. */
function firstItems(key: MnistFileKey, count: number): Uint8Array {
  const images = key.endsWith('Images');
  const bytes = readRealMnistFile(key).slice(0, (images ? 16 : 8) + count * (images ? 28 * 28 : 1));
  new DataView(bytes.buffer).setUint32(4, count);
  return bytes;
}

const INPUTS: Record<InputName, () => Uint8Array> = {
  'train-images.idx': () => firstItems('trainImages', TRAIN_IMAGES),
  'train-labels.idx': () => firstItems('trainLabels', TRAIN_IMAGES),
  'test-images.idx': () => firstItems('testImages', TEST_IMAGES),
  'test-labels.idx': () => firstItems('testLabels', TEST_IMAGES),
};

/** Builds the site into a fresh temporary folder; `remove` deletes it. */
export async function buildTrainingSite(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lenet-training-page-'));
  await build({
    configFile: false,
    envFile: false,
    root: PAGE_SOURCE,
    base: './',
    logLevel: 'warn',
    publicDir: false,
    resolve: { conditions: ['@lenet/source', ...defaultClientConditions], dedupe: ['@tensorflow/tfjs-core'] },
    // Workers import tfjs, whose backends are split into chunks: only ES workers can load chunks.
    worker: { format: 'es' },
    build: {
      outDir: dir,
      emptyOutDir: true,
      target: 'es2022',
      // A test page: minifying would only cost build time and make stack traces unreadable.
      minify: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 4096,
    },
  });
  // Bundlers do not copy tfjs-backend-wasm's binaries; setupBackend's wasmPaths points the page at tfjs-wasm/.
  const wasmDist = join(
    dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')),
    'dist',
  );
  await mkdir(join(dir, 'tfjs-wasm'));
  for (const file of (await readdir(wasmDist)).filter((f) => f.endsWith('.wasm')))
    await copyFile(join(wasmDist, file), join(dir, 'tfjs-wasm', file));
  await mkdir(join(dir, 'inputs'));
  for (const [name, bytes] of Object.entries(INPUTS)) await writeFile(join(dir, 'inputs', name), bytes());
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The page open in a fresh headless Chromium, its script loaded; `errors` collects uncaught page errors. */
export interface OpenTrainingPage {
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

/**
 * Serves the built site and opens it. `isolated` serves it cross-origin isolated (COOP and COEP headers), where
 * Chromium gives the page SharedArrayBuffer and tfjs-backend-wasm takes its threaded build.
 */
export async function openTrainingPage(
  dir: string,
  options: { isolated: boolean },
): Promise<OpenTrainingPage> {
  const server = await serveStatic(dir, '/training/', options.isolated ? CROSS_ORIGIN_ISOLATION : {});
  const browser = await launchChromium({ webgpu: false });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.url);
  await page.waitForFunction(() => window.lenetTraining !== undefined);
  return {
    page,
    errors,
    close: async () => {
      await browser.cleanup();
      await server.close();
    },
  };
}
