/**
 * LeNet-5 trained in Debian's Chromium on the wasm backend, as @lenet/web's setupBackend sets it up (which
 * registers @lenet/kernels): 200 steps of batch 64 on real MNIST training images, then 1,000 real test images.
 * The same training data-parallel over 2 Web Workers (@lenet/web's webWorkerChannels, ParallelCoordinator) ends
 * where one thread ends. The page (training-page/) is built from the packages' sources with vite. A second page
 * is served cross-origin isolated, where tfjs-backend-wasm runs its threaded build on shared memory: our SIMD
 * kernels stay out there, and training runs on the stock kernels plus our Conv2DBackpropFilter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParallelTrainingReport, SetupReport, TrainingReport } from './training-page/protocol';
import { buildTrainingSite, type OpenTrainingPage, openTrainingPage, TEST_IMAGES } from './training-site';

const STEPS = 200;
const BATCH = 64;
const FUSED = ['LeNet5Gradients', 'LeNet5Logits', 'FusedAdamUpdate'];

/** Kernels that compute a gradient: the stock ones the tape would run, and ours. */
const isGradientKernel = (name: string) =>
  name === 'LeNet5Gradients' || name.includes('Backprop') || name.endsWith('Grad');

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** max |a - b| over max |b|: how far `a` is from `b`, relative to `b`'s scale. */
function relativeDifference(a: number[], b: number[]): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    difference = Math.max(difference, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return difference / scale;
}

let site: Awaited<ReturnType<typeof buildTrainingSite>> | undefined;

beforeAll(async () => {
  site = await buildTrainingSite();
});

afterAll(async () => {
  await site?.remove();
});

describe('LeNet-5 training on wasm in Chromium', () => {
  let opened: OpenTrainingPage | undefined;
  let setup: SetupReport;
  let report: TrainingReport;

  beforeAll(async () => {
    opened = await openTrainingPage(site!.dir, { isolated: false });
    setup = await opened.page.evaluate(() => window.lenetTraining!.setup());
    report = await opened.page.evaluate((options) => window.lenetTraining!.train(options), {
      steps: STEPS,
      batchSize: BATCH,
      seed: 0,
      testCount: TEST_IMAGES,
    });
    console.info(
      `wasm in ${setup.userAgent}: registerKernels registered ${setup.kernels.join(', ')}; ` +
        `${STEPS} steps of batch ${BATCH} in ${(report.milliseconds / 1000).toFixed(1)} s, ` +
        `test accuracy ${(100 * report.accuracy).toFixed(1)}%`,
    );
  });

  afterAll(async () => {
    await opened?.close();
  });

  it('runs on the wasm backend, with the SIMD and fused kernels registered', () => {
    expect(setup.backend).toBe('wasm');
    // Served without cross-origin isolation: tfjs's single-threaded SIMD build, on memory our kernels can use.
    expect(setup.crossOriginIsolated).toBe(false);
    expect(setup.sharedHeap).toBe(false);
    expect(setup.wasmThreads).toBe(1);
    expect(setup.simdSkipped).toBeUndefined();
    expect(setup.kernels).toEqual(expect.arrayContaining([...FUSED, 'Conv2DBackpropFilter', 'Conv2D']));
    expect(opened!.errors).toEqual([]);
  });

  it('the loss falls over 200 steps of batch 64 on real MNIST', () => {
    expect(report.losses).toHaveLength(STEPS);
    for (const loss of report.losses) expect(Number.isFinite(loss)).toBe(true);
    const first = mean(report.losses.slice(0, 20));
    const last = mean(report.losses.slice(-20));
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(first / 3);
  });

  it('classifies more than 90% of 1,000 real test images right', () => {
    expect(report.accuracy).toBeGreaterThan(0.9);
  });

  it('leaves tf.memory().numTensors unchanged across steps, and frees everything at the end', () => {
    // The first step creates Adam's moments; every later step leaves the count as it found it.
    expect(report.tensorsAfter.slice(1)).toEqual(report.tensorsBefore.slice(1));
    expect(new Set(report.tensorsBefore.slice(1)).size).toBe(1);
    expect(report.tensorsAtEnd).toBe(report.tensorsAtStart);
  });

  it('a training step computes its gradients in LeNet5Gradients alone, and predict runs LeNet5Logits', () => {
    expect(report.stepKernels.filter(isGradientKernel)).toEqual(['LeNet5Gradients']);
    expect(report.stepKernels).toContain('FusedAdamUpdate');
    expect(report.stepKernels).not.toContain('Conv2D');
    expect(report.predictKernels).toContain('LeNet5Logits');
    expect(report.predictKernels).not.toContain('Conv2D');
  });

  describe('the same training over 2 Web Workers (webWorkerChannels and ParallelCoordinator)', () => {
    let parallel: ParallelTrainingReport;

    beforeAll(async () => {
      parallel = await opened!.page.evaluate((options) => window.lenetTraining!.trainParallel(options), {
        steps: STEPS,
        batchSize: BATCH,
        seed: 0,
        testCount: TEST_IMAGES,
        workers: 2,
      });
      console.info(
        `${parallel.workers} Web Workers: ${STEPS} steps of batch ${BATCH} in ` +
          `${(parallel.milliseconds / 1000).toFixed(1)} s, test accuracy ${(100 * parallel.accuracy).toFixed(1)}%, ` +
          `weights ${relativeDifference(parallel.weights, report.weights).toExponential(1)} from one thread's`,
      );
    });

    it('the loss falls and more than 90% of the test images come out right', () => {
      expect(opened!.errors).toEqual([]);
      expect(parallel.losses).toHaveLength(STEPS);
      for (const loss of parallel.losses) expect(Number.isFinite(loss)).toBe(true);
      expect(mean(parallel.losses.slice(-20))).toBeLessThan(mean(parallel.losses.slice(0, 20)) / 3);
      expect(parallel.accuracy).toBeGreaterThan(0.9);
    });

    it('ends at the weights of one-thread training, up to float rounding', () => {
      // Same seed, same batches: only the order of the gradient sums differs (two shards summed, not one batch).
      expect(relativeDifference(parallel.losses, report.losses)).toBeLessThan(1e-4);
      expect(relativeDifference(parallel.weights, report.weights)).toBeLessThan(1e-4);
    });
  });
});

describe('LeNet-5 training on wasm in a cross-origin isolated page (threaded tfjs build)', () => {
  let opened: OpenTrainingPage | undefined;
  let setup: SetupReport;
  let report: TrainingReport;

  beforeAll(async () => {
    opened = await openTrainingPage(site!.dir, { isolated: true });
    setup = await opened.page.evaluate(() => window.lenetTraining!.setup());
    report = await opened.page.evaluate((options) => window.lenetTraining!.train(options), {
      steps: 5,
      batchSize: BATCH,
      seed: 0,
      testCount: TEST_IMAGES,
    });
    console.info(
      `wasm, cross-origin isolated, ${setup.wasmThreads} threads: registerKernels registered ` +
        `${setup.kernels.join(', ')}; SIMD kernels skipped: ${setup.simdSkipped}`,
    );
  });

  afterAll(async () => {
    await opened?.close();
  });

  it('tfjs takes its threaded build, and registerKernels keeps our SIMD kernels out of shared memory', () => {
    expect(setup.backend).toBe('wasm');
    expect(setup.crossOriginIsolated).toBe(true);
    expect(setup.wasmThreadsSupported).toBe(true);
    // The threaded build's heap is shared memory. (Its XNNPACK pool may still be 1 thread: tfjs sizes it from
    // the logical cores, and does not count hyperthreads as cores.)
    expect(setup.sharedHeap).toBe(true);
    expect(setup.wasmThreads).toBeGreaterThanOrEqual(1);
    expect(setup.simdSkipped).toMatch(/threaded, on shared memory/);
    expect(setup.kernels).toContain('Conv2DBackpropFilter');
    for (const fused of FUSED) expect(setup.kernels).not.toContain(fused);
  });

  it('trains on the stock kernels and our Conv2DBackpropFilter', () => {
    expect(opened!.errors).toEqual([]);
    expect(report.losses).toHaveLength(5);
    for (const loss of report.losses) expect(Number.isFinite(loss)).toBe(true);
    expect(report.stepKernels).toContain('Conv2DBackpropFilter');
    expect(report.stepKernels).not.toContain('LeNet5Gradients');
    expect(report.predictKernels).not.toContain('LeNet5Logits');
    expect(report.tensorsAtEnd).toBe(report.tensorsAtStart);
  });
});
