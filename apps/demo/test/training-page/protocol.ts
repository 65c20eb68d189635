/** What the training page offers the Node test and the bench through window.lenetTraining (types only). */
import type { BrowserBackend } from '@lenet/web';

/** The files the test or the bench serves under `inputs/`: the first images of real MNIST, headers rewritten. */
export const INPUT_FILES = [
  'train-images.idx',
  'train-labels.idx',
  'test-images.idx',
  'test-labels.idx',
] as const;

export type InputName = (typeof INPUT_FILES)[number];

/** How the wasm backend came up in this page. */
export interface SetupReport {
  /** tf.getBackend() after setupBackend. */
  backend: string;
  /** What registerKernels() answers when called again (it is idempotent). */
  kernels: string[];
  /** Why our SIMD kernels stayed out, where they did. */
  simdSkipped?: string;
  /** Whether the page is cross-origin isolated (COOP + COEP), the condition for tfjs's threaded wasm build. */
  crossOriginIsolated: boolean;
  /** tfjs-backend-wasm's thread count (1 on its single-threaded builds). */
  wasmThreads: number;
  /** Whether the wasm heap is a SharedArrayBuffer, which only tfjs's threaded build uses. */
  sharedHeap: boolean;
  /** tfjs's WebAssembly SIMD and threads detection. */
  wasmSimdSupported: boolean;
  wasmThreadsSupported: boolean;
  hardwareConcurrency: number;
  userAgent: string;
}

export interface TrainOptions {
  steps: number;
  batchSize: number;
  /** Seed of the model's initial weights and of the batch order. */
  seed: number;
  /** How many of the served test images to evaluate on afterwards. */
  testCount: number;
}

/** What one training run did. */
export interface TrainingReport {
  /** Each step's mean batch loss, in order. */
  losses: number[];
  /** tf.memory().numTensors before and after each step (the batch's own two tensors counted in both). */
  tensorsBefore: number[];
  tensorsAfter: number[];
  /** Accuracy of the trained model on the first `testCount` served test images. */
  accuracy: number;
  /** The trained weights, flat in PARAM_NAMES order. */
  weights: number[];
  /** The kernels tf.profile saw during one more training step, and during one predict. */
  stepKernels: string[];
  predictKernels: string[];
  /** tf.memory().numTensors before the model was made and after everything was disposed. */
  tensorsAtStart: number;
  tensorsAtEnd: number;
  milliseconds: number;
}

/** What a data-parallel run over Web Workers did (the coordinator on this page, a replica per worker). */
export interface ParallelTrainingReport {
  workers: number;
  losses: number[];
  accuracy: number;
  weights: number[];
  milliseconds: number;
}

export interface BenchOptions {
  /** The backend to measure, set up by @lenet/web's setupBackend (which registers our kernels for it). */
  backend: BrowserBackend;
  /** Timed training steps per run at batch 64 (halved at batch 256, as in apps/bench). */
  steps: number;
  /** Timed runs per figure; each figure is their median. */
  runs: number;
  /**
   * 0: training and inference on the page's own thread. N: data-parallel training over N Web Workers, each a
   * replica on `backend` (webWorkerChannels and ParallelCoordinator); no inference figure then.
   */
  workers: number;
  /**
   * Seconds all of this call's figures may take, roughly. When the first timed step at batch 64 says that
   * `steps` and `runs` would take longer, every figure is cut to one run of at most `shortSteps` timed steps
   * (fewer where the time left is short; at least one), and a first step or pass too slow for the budget is
   * timed instead of warming up.
   */
  budgetSeconds: number;
  /** Timed steps per figure on a backend too slow for the full plan (a software GPU adapter, say). */
  shortSteps: number;
}

/** What one figure is the median of. */
export interface FigurePlan {
  /** Timed steps per run (training), or forward passes of batch 1000 per run (inference). */
  steps: number;
  runs: number;
  /**
   * Whether untimed steps (or a pass) came first: kernels compiled, memory grown, the optimizer's slots made.
   * False only in a cut-short plan where one step or pass was too slow for a warm-up: the figure then includes
   * what a first time costs (shader compilation, memory).
   */
  warmUp: boolean;
}

/** Images per second on one backend, as apps/bench/src/measure.ts measures them in Node. */
export interface BenchReport {
  /** tf.getBackend() on the page once setupBackend returned. */
  backend: string;
  /** BackendChoice.device: what ran, in words. */
  device: string;
  /** Why the device is a software one (a SwiftShader adapter or renderer), where it is: its figures say little. */
  software?: string;
  /** As asked: 0 is the page's own thread, N the Web Workers the training was split across. */
  workers: number;
  /** Keyed by batch size (64, 256). */
  trainImagesPerSecond: Record<string, number>;
  /** Forward passes of batch 1000; absent with workers. */
  inferImagesPerSecond?: number;
  /** The steps and runs behind each figure, keyed as above and 'infer'. */
  plans: Record<string, FigurePlan>;
  /** Seconds of the first timed step at batch 64, which decided the plan. */
  firstStepSeconds: number;
  /** Whether the plan was cut short to stay within `budgetSeconds`. */
  shortened: boolean;
  /** Seconds the whole call took, backend setup included. */
  seconds: number;
}

/** A backend that setupBackend could not start here, and its error. */
export interface BenchUnavailable {
  backend: BrowserBackend;
  workers: number;
  unavailable: string;
}

export interface TrainingPage {
  setup(): Promise<SetupReport>;
  train(options: TrainOptions): Promise<TrainingReport>;
  /** The same training over `workers` Web Workers (@lenet/web's webWorkerChannels and ParallelCoordinator). */
  trainParallel(options: TrainOptions & { workers: number }): Promise<ParallelTrainingReport>;
  /** One backend's figures, or why it cannot start. */
  bench(options: BenchOptions): Promise<BenchReport | BenchUnavailable>;
}

declare global {
  interface Window {
    /** Set by main.ts once the page's script has loaded. */
    lenetTraining?: TrainingPage;
  }
}
