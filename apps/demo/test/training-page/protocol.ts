/** What the training page offers the Node test and the bench through window.lenetTraining (types only). */

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
  /** Timed training steps per run at batch 64 (halved at batch 256, as in apps/bench). */
  steps: number;
  /** Timed runs per figure; each figure is their median. */
  runs: number;
  /** Web Workers for the data-parallel figures; 0 leaves them out. */
  workers: number;
}

/** Images per second, as apps/bench/src/measure.ts measures them in Node. */
export interface BenchReport {
  trainImagesPerSecond: Record<string, number>;
  /** With `workers` Web Workers; absent when `workers` is 0. */
  parallelTrainImagesPerSecond?: Record<string, number>;
  inferImagesPerSecond: number;
}

export interface TrainingPage {
  setup(): Promise<SetupReport>;
  train(options: TrainOptions): Promise<TrainingReport>;
  /** The same training over `workers` Web Workers (@lenet/web's webWorkerChannels and ParallelCoordinator). */
  trainParallel(options: TrainOptions & { workers: number }): Promise<ParallelTrainingReport>;
  bench(options: BenchOptions): Promise<BenchReport>;
}

declare global {
  interface Window {
    /** Set by main.ts once the page's script has loaded. */
    lenetTraining?: TrainingPage;
  }
}
