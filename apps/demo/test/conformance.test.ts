/**
 * The backend conformance suite of packages/node/src/conformance/ in Debian's Chromium: on each browser backend,
 * set up by @lenet/web's setupBackend, LeNet-5 must give the float64 reference's logits, loss and gradients
 * (through the tape and through LeNet5.lossAndGradients, fused where registered), learn, leak no tensor per step
 * and repeat itself bit for bit. The checks are the Node suite's own (test-utils/conformance/), run on a page
 * built from the packages' sources with vite (conformance-page/), on real MNIST test images. WebGPU and WebGL run
 * on SwiftShader here. A backend that does not start gets one skipped test whose name says why.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConformanceSize,
  GRADIENT_REL_TOLERANCE,
  LOGITS_ABS_TOLERANCE,
} from '../../../test-utils/conformance/checks';
import {
  expectGradientsConform,
  expectLogitsConform,
  expectTrainingConforms,
} from '../../../test-utils/conformance/expectations';
import { launchChromium, serveStatic } from './browser';
import type { ConformanceReport, SetupReport } from './conformance-page/protocol';
import { buildTestPage, copyTfjsWasm, firstMnistItems } from './test-page';

const HERE = dirname(fileURLToPath(import.meta.url));
const PAGE_SOURCE = join(HERE, 'conformance-page');

/** Each backend, with the work it can do in reasonable time on SwiftShader or two CPU cores. */
const BACKENDS: { backend: string; size: ConformanceSize }[] = [
  { backend: 'wasm', size: { batchSize: 16, steps: 4 } },
  // On SwiftShader our WGSL kernels run a few hundred images per second, the stock ones (the tape) tens.
  { backend: 'webgpu', size: { batchSize: 16, steps: 4 } },
  { backend: 'webgl', size: { batchSize: 16, steps: 4 } },
  { backend: 'cpu', size: { batchSize: 16, steps: 4 } },
];
const ITEMS = Math.max(...BACKENDS.map(({ size }) => size.batchSize));

/** Writes what the page fetches next to it: the MNIST items and tfjs-backend-wasm's .wasm files. */
async function writeAssets(site: string): Promise<void> {
  await mkdir(join(site, 'inputs'));
  await writeFile(join(site, 'inputs', 'images.idx'), firstMnistItems('testImages', ITEMS));
  await writeFile(join(site, 'inputs', 'labels.idx'), firstMnistItems('testLabels', ITEMS));
  await copyTfjsWasm(site);
}

// The backends are set up while the tests are collected, so that one that does not start is named in a skip.
const site = await mkdtemp(join(tmpdir(), 'lenet-conformance-page-'));
await buildTestPage(PAGE_SOURCE, site);
await writeAssets(site);
const server = await serveStatic(site, '/conformance/');
const browser = await launchChromium({ webgpu: true });

interface BackendPage {
  page: Page;
  setup: SetupReport;
  pageErrors: string[];
}

async function openBackend(backend: string): Promise<BackendPage> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(server.url);
  await page.waitForFunction(() => window.conformance !== undefined);
  const setup = await page.evaluate((name) => window.conformance!.setup(name), backend);
  return { page, setup, pageErrors };
}

async function closeAll(): Promise<void> {
  await browser.cleanup();
  await server.close();
  await rm(site, { recursive: true, force: true });
}

const pages = new Map<string, BackendPage>();
try {
  for (const { backend } of BACKENDS) pages.set(backend, await openBackend(backend));
} catch (error) {
  await closeAll();
  throw error;
}
afterAll(closeAll);

// As in the Node suite: CI names the backends it installs, so that one that stopped starting fails, not skips.
const required = (process.env.LENET_REQUIRE_BACKENDS ?? '').split(',');

for (const { backend, size } of BACKENDS) {
  const { page, setup, pageErrors } = pages.get(backend)!;
  if (!setup.started) {
    describe(`conformance in Chromium on ${backend}`, () => {
      if (required.includes(backend)) {
        it(`${backend} is required by LENET_REQUIRE_BACKENDS but does not start in Chromium`, () => {
          throw new Error(setup.reason);
        });
      } else {
        it.skip(`SKIPPED: ${backend} does not start in headless Chromium here: ${setup.reason}`, () => {});
      }
    });
    continue;
  }
  const fused = setup.fused
    ? 'the fused LeNet5Gradients kernel'
    : `the tape: ${backend} registers no fused kernel`;

  describe(`conformance in Chromium on ${backend}`, () => {
    let report: ConformanceReport;

    beforeAll(async () => {
      report = await page.evaluate((s) => window.conformance!.run(s), size);
      expect(pageErrors, `${backend}: errors on the page`).toEqual([]);
    });
    afterAll(() => page.close());

    if (backend === 'wasm' || backend === 'webgpu') {
      it('has our fused kernels (registerKernels() of @lenet/kernels)', () => {
        expect(setup.simdSkipped, 'why the SIMD kernels stayed out').toBeUndefined();
        expect(setup.kernels).toEqual(
          expect.arrayContaining(['LeNet5Gradients', 'LeNet5Logits', 'FusedAdamUpdate']),
        );
        expect(setup.fused).toBe(true);
      });
    }

    it(`gives the float64 reference's logits within ${LOGITS_ABS_TOLERANCE}`, () => {
      expect(report.backend).toBe(backend);
      expectLogitsConform(backend, report.errors);
    });

    it(`gives the reference's loss and every gradient within ${GRADIENT_REL_TOLERANCE} relative error through tf.variableGrads`, () => {
      expectGradientsConform(backend, report.errors, 'tape');
    });

    it(`gives the reference's loss and gradients through LeNet5.lossAndGradients (${fused})`, () => {
      expectGradientsConform(backend, report.errors, 'fused');
    });

    it(`lowers the loss in ${size.steps} steps without leaking a tensor, the same way twice from one seed`, () => {
      expectTrainingConforms(backend, report.training);
    });
  });
}
