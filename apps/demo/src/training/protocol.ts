/**
 * What the page and its training worker (trainer-worker.ts) say to each other. The worker owns MNIST, the
 * backend, the training loop and every evaluation; the page only draws what it hears and sends commands.
 */
import type { Preprocessing } from '@lenet/data';
import type { BrowserBackend } from '@lenet/web';

/** How a run trains: the CLI's default recipe (from @lenet/data), with what the Train panel lets one change. */
export interface TrainSettings {
  epochs: number;
  batchSize: number;
  /** Peak learning rate of the recipe's warm-up + cosine schedule. */
  learningRate: number;
  augment: boolean;
  /** Train on the first N training images (the whole 60,000 when equal). */
  trainImages: number;
  seed: number;
}

/** One of the test set's misread digits, worst first. */
export interface MistakeView {
  /** Position in the 10,000-image test set. */
  index: number;
  label: number;
  predicted: number;
  /** Softmax probability of `predicted`. */
  probability: number;
  /** 28x28 bytes, as MNIST stores it. */
  pixels: Uint8Array;
}

/** What an evaluation on the whole test set found. */
export interface EvaluationView {
  accuracy: number;
  loss: number;
  /** `confusion[true][predicted]`. */
  confusion: number[][];
  /** How many test digits the model reads wrong. */
  wrong: number;
  /** The worst of them by loss, at most {@link MISTAKES_SHOWN}. */
  mistakes: MistakeView[];
}

/** How many misread digits the gallery shows. */
export const MISTAKES_SHOWN = 60;

export type ToTrainer =
  /**
   * Sets up the backend (if not yet) and fetches MNIST from `siteRoot`'s mnist/ folder (if not yet, or after a
   * failure: the retry).
   */
  | { type: 'load'; siteRoot: string; backend: BrowserBackend | 'auto' }
  | { type: 'start'; settings: TrainSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Evaluates these weights (e.g. the shipped ones) on the test set, prepared as `preprocessing` says. */
  | { type: 'evaluate'; id: number; weights: Float32Array; preprocessing: Preprocessing };

export interface BackendReport {
  name: BrowserBackend;
  device: string;
  skipped: { name: string; reason: string }[];
  /** Replicas sharing each batch: Web Workers on wasm, or 1 (this worker). */
  replicas: number;
}

export interface ProgressReport {
  epoch: number;
  epochs: number;
  /** Steps done since the start of the run. */
  step: number;
  totalSteps: number;
  /** Mean training loss of the epoch so far. */
  loss: number;
  imagesPerSecond: number;
  /** Seconds of training left at the current speed (evaluations not included). */
  etaSeconds: number;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  trainLoss: number;
  evaluation: EvaluationView;
}

export type FromTrainer =
  | { type: 'backend'; backend: BackendReport }
  | { type: 'mnist-progress'; receivedBytes: number; totalBytes: number; fromCache: boolean }
  | { type: 'mnist-ready'; train: number; test: number; fromCache: boolean }
  | { type: 'mnist-failed'; message: string }
  | { type: 'progress'; progress: ProgressReport }
  /** The weights so far, flat in PARAM_NAMES order, at most a few times a second. */
  | { type: 'weights'; step: number; weights: Float32Array }
  | { type: 'epoch'; report: EpochReport; weights: Float32Array }
  | { type: 'paused'; step: number }
  | { type: 'resumed'; step: number }
  | { type: 'finished'; stopped: boolean; step: number; weights: Float32Array }
  | { type: 'evaluation'; id: number; evaluation: EvaluationView }
  | { type: 'failed'; message: string };
