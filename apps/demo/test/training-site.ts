/**
 * The training page (training-page/) as a site: built from the packages' sources with vite, with tfjs's .wasm
 * files and the first images of real MNIST next to it, opened in Debian's Chromium. Shared by
 * wasm-training.test.ts and scripts/bench-training.mjs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { CROSS_ORIGIN_ISOLATION, launchChromium, serveStatic } from './browser';
import { buildTestPage, copyTfjsWasm, firstMnistItems } from './test-page';
import type { InputName } from './training-page/protocol';

const PAGE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'training-page');

/** Training images served: 200 batches of 64, and enough for the bench's batches of 256. */
export const TRAIN_IMAGES = 12_800;
/** Test images served, for the accuracy check. */
export const TEST_IMAGES = 1000;

const INPUTS: Record<InputName, () => Uint8Array> = {
  'train-images.idx': () => firstMnistItems('trainImages', TRAIN_IMAGES),
  'train-labels.idx': () => firstMnistItems('trainLabels', TRAIN_IMAGES),
  'test-images.idx': () => firstMnistItems('testImages', TEST_IMAGES),
  'test-labels.idx': () => firstMnistItems('testLabels', TEST_IMAGES),
};

/** Builds the site into a fresh temporary folder; `remove` deletes it. */
export async function buildTrainingSite(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lenet-training-page-'));
  await buildTestPage(PAGE_SOURCE, dir);
  await copyTfjsWasm(dir);
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
 * Chromium gives the page SharedArrayBuffer and tfjs-backend-wasm takes its threaded build. `webgpu` starts
 * Chromium with --enable-unsafe-webgpu (WebGPU on SwiftShader where there is no GPU); without it (the default)
 * the page has no WebGPU adapter.
 */
export async function openTrainingPage(
  dir: string,
  options: { isolated: boolean; webgpu?: boolean },
): Promise<OpenTrainingPage> {
  const server = await serveStatic(dir, '/training/', options.isolated ? CROSS_ORIGIN_ISOLATION : {});
  const browser = await launchChromium({ webgpu: options.webgpu ?? false });
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
