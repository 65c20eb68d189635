/**
 * The page's training worker: everything heavy happens here, so the draw pad never waits. It sets up the
 * backend (WebGPU on a real GPU, else wasm with one replica Web Worker per core, else WebGL, else cpu), fetches
 * MNIST from the site (verified, cached), trains with the CLI's recipe code, and evaluates on the test set.
 */
import {
  augmentationFor,
  batchArrays,
  batchCount,
  batches,
  type Mnist,
  type MnistSplit,
  type PreparedSplit,
  type Preprocessing,
  prepareSplit,
  RECIPES,
} from '@lenet/data';
import { evaluate, LeNet5, learningRateAt } from '@lenet/ops';
import {
  inProcessChannel,
  ParallelCoordinator,
  type ReplicaChannel,
  unflattenWeights,
} from '@lenet/ops/parallel';
import { type BackendChoice, loadSiteMnist, setupBackend, TRAINING_BACKENDS } from '@lenet/web';
import { webWorkerChannels } from '@lenet/web/workers';
import {
  type EvaluationView,
  type FromTrainer,
  MISTAKES_SHOWN,
  type ToTrainer,
  type TrainSettings,
} from './protocol';

const RECIPE = RECIPES.default;
/** How often the page hears of progress, and gets the weights so far for its live views. */
const PROGRESS_EVERY_MS = 100;
const WEIGHTS_EVERY_MS = 500;
/** Below this many images per replica, a second replica costs more in messages than it saves. */
const MIN_IMAGES_PER_REPLICA = 32;

const post = (message: FromTrainer, transfer: Transferable[] = []) =>
  (self as unknown as Worker).postMessage(message, transfer);

let siteRoot = '';
let backend: Promise<BackendChoice> | undefined;
let mnist: Promise<Mnist> | undefined;
/** Test splits prepared per preprocessing (the shipped weights and the recipe may differ). */
const testSplits = new Map<string, PreparedSplit>();
let run: TrainingRun | undefined;

self.addEventListener('message', (event: MessageEvent<ToTrainer>) => {
  const message = event.data;
  const failed = (error: unknown) => post({ type: 'failed', message: describe(error) });
  switch (message.type) {
    case 'load':
      siteRoot = message.siteRoot;
      void load(message.backend).catch(() => {}); // load() reports its own failures
      break;
    case 'start':
      if (run) return;
      run = new TrainingRun(message.settings);
      run
        .train()
        .catch(failed)
        .finally(() => {
          run = undefined;
        });
      break;
    case 'pause':
      run?.pause();
      break;
    case 'resume':
      run?.resume();
      break;
    case 'stop':
      run?.stop();
      break;
    case 'evaluate':
      evaluateWeights(message.weights, message.preprocessing)
        .then((evaluation) => post({ type: 'evaluation', id: message.id, evaluation }))
        .catch(failed);
      break;
  }
});

async function load(wanted: 'auto' | BackendChoice['name']): Promise<Mnist> {
  backend ??= setupBackend({
    backend: wanted,
    order: TRAINING_BACKENDS,
    skipSoftwareGpu: true,
    wasmPaths: new URL('tfjs-wasm/', siteRoot).href,
  }).then(
    (choice) => {
      post({ type: 'backend', backend: { ...describeChoice(choice), replicas: 1 } });
      return choice;
    },
    (error: unknown) => {
      backend = undefined;
      post({ type: 'failed', message: describe(error) });
      throw error;
    },
  );
  await backend;
  mnist ??= fetchMnist();
  return mnist.catch((error: unknown) => {
    mnist = undefined; // the retry button fetches again
    post({ type: 'mnist-failed', message: describe(error) });
    throw error;
  });
}

async function fetchMnist(): Promise<Mnist> {
  let fromCache = true;
  const data = await loadSiteMnist(new URL('mnist/', siteRoot).href, {
    onProgress(progress) {
      if (progress.phase === 'download') fromCache = false;
      post({
        type: 'mnist-progress',
        receivedBytes: progress.receivedBytes,
        totalBytes: progress.totalBytes,
        fromCache,
      });
    },
  });
  post({ type: 'mnist-ready', train: data.train.count, test: data.test.count, fromCache });
  return data;
}

function describeChoice(choice: BackendChoice) {
  return { name: choice.name, device: choice.device, skipped: choice.skipped };
}

function testSplit(test: MnistSplit, preprocessing: Preprocessing): PreparedSplit {
  const key = JSON.stringify(preprocessing);
  let split = testSplits.get(key);
  if (!split) {
    split = prepareSplit(test, preprocessing);
    testSplits.set(key, split);
  }
  return split;
}

/** Accuracy, confusion and the worst misread digits of `model` on the whole test set, in batches of 1000. */
async function evaluateOnTestSet(model: LeNet5, preprocessing: Preprocessing): Promise<EvaluationView> {
  const { test } = await load('auto');
  const split = testSplit(test, preprocessing);
  const result = await evaluate(model, batches(split, { batchSize: 1000, shuffle: false }), {
    mistakes: MISTAKES_SHOWN,
  });
  return {
    accuracy: result.accuracy,
    loss: result.loss,
    confusion: result.confusion,
    wrong: result.count - result.correct,
    mistakes: (result.mistakes ?? []).map((m) => ({
      index: m.index,
      label: m.label,
      predicted: m.predicted,
      probability: m.probability,
      pixels: test.images.slice(m.index * 784, (m.index + 1) * 784),
    })),
  };
}

async function evaluateWeights(weights: Float32Array, preprocessing: Preprocessing): Promise<EvaluationView> {
  await load('auto'); // the backend first: the model's tensors go to the backend active when it is made
  const model = LeNet5.create();
  try {
    model.setWeights(unflattenWeights(weights));
    return await evaluateOnTestSet(model, preprocessing);
  } finally {
    model.dispose();
  }
}

/** One run of the Train panel: start to finished or stopped, pausable between steps. */
class TrainingRun {
  private pauseRequested = false;
  private stopRequested = false;
  private resumed: (() => void) | undefined;

  constructor(private readonly settings: TrainSettings) {}

  pause(): void {
    this.pauseRequested = true;
  }

  resume(): void {
    this.pauseRequested = false;
    this.resumed?.();
  }

  stop(): void {
    this.stopRequested = true;
    this.resume();
  }

  async train(): Promise<void> {
    const { settings } = this;
    const choice = await backend;
    const data = await load('auto');
    const split = prepareSplit(data.train, RECIPE.preprocessing, settings.trainImages);
    const replicas =
      choice?.name === 'wasm'
        ? Math.max(
            1,
            Math.min(
              navigator.hardwareConcurrency || 1,
              Math.floor(settings.batchSize / MIN_IMAGES_PER_REPLICA),
            ),
          )
        : 1;
    if (choice) post({ type: 'backend', backend: { ...describeChoice(choice), replicas } });
    const channels: ReplicaChannel[] =
      replicas > 1
        ? await webWorkerChannels({
            workers: replicas,
            backend: 'wasm',
            wasmPaths: new URL('tfjs-wasm/', siteRoot).href,
          })
        : [inProcessChannel()];
    const coordinator = await ParallelCoordinator.start(channels, {
      modelOptions: { seed: settings.seed },
      optimizer: { name: 'adam', learningRate: settings.learningRate },
    });
    const model = LeNet5.create({ seed: settings.seed });
    try {
      await this.epochs(coordinator, model, split);
    } finally {
      model.dispose();
      await coordinator.close();
    }
  }

  private async epochs(coordinator: ParallelCoordinator, model: LeNet5, split: PreparedSplit): Promise<void> {
    const { epochs, batchSize, learningRate, seed } = this.settings;
    // The CLI's loop (apps/trainer/src/training-loop.ts): the same batches, schedule and distortions.
    const totalSteps = batchCount(split.count, batchSize, false) * epochs;
    const augment = augmentationFor(RECIPE, this.settings.augment);
    let step = 0;
    let trainingMs = 0;
    let lastProgress = 0;
    let lastWeights = performance.now();
    for (let epoch = 1; epoch <= epochs && !this.stopRequested; epoch++) {
      let lossSum = 0;
      let seen = 0;
      let imagesTimed = 0;
      for (const batch of batchArrays(split, { batchSize, shuffle: true, seed, epoch, augment })) {
        await this.pausePoint(step);
        if (this.stopRequested) break;
        const started = performance.now();
        const rate = learningRateAt(RECIPE.schedule, learningRate, step, totalSteps);
        const loss = await coordinator.step(batch.inputs, batch.labels, batch.size, rate);
        const now = performance.now();
        trainingMs += now - started;
        imagesTimed += batch.size;
        step++;
        lossSum += loss * batch.size;
        seen += batch.size;
        if (now - lastProgress >= PROGRESS_EVERY_MS || step === totalSteps) {
          lastProgress = now;
          const imagesPerSecond = (1000 * imagesTimed) / Math.max(1, trainingMs);
          post({
            type: 'progress',
            progress: {
              epoch,
              epochs,
              step,
              totalSteps,
              loss: lossSum / seen,
              imagesPerSecond,
              etaSeconds: ((totalSteps - step) * batchSize) / imagesPerSecond,
            },
          });
        }
        if (now - lastWeights >= WEIGHTS_EVERY_MS) {
          lastWeights = now;
          const weights = await coordinator.getWeights();
          post({ type: 'weights', step, weights }, [weights.buffer]);
        }
      }
      if (seen === 0) break;
      const weights = await coordinator.getWeights();
      model.setWeights(unflattenWeights(weights)); // copies them, so `weights` can move to the page
      const evaluation = await evaluateOnTestSet(model, RECIPE.preprocessing);
      post({ type: 'epoch', report: { epoch, epochs, trainLoss: lossSum / seen, evaluation }, weights }, [
        weights.buffer,
      ]);
    }
    const weights = await coordinator.getWeights();
    post({ type: 'finished', stopped: this.stopRequested, step, weights }, [weights.buffer]);
  }

  /** Waits here, between two steps, while the run is paused. */
  private async pausePoint(step: number): Promise<void> {
    await nextTask();
    if (!this.pauseRequested) return;
    post({ type: 'paused', step });
    await new Promise<void>((resolve) => {
      this.resumed = resolve;
    });
    this.resumed = undefined;
    if (!this.stopRequested) post({ type: 'resumed', step });
  }
}

const taskChannel = new MessageChannel();

/**
 * Resolves in a task of its own. A step on this thread (one replica) resolves in microtasks only, so without this
 * the loop would never let the page's pause and stop messages in. A MessageChannel hop, unlike setTimeout, is not
 * clamped to 4 ms.
 */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    taskChannel.port1.onmessage = () => resolve();
    taskChannel.port2.postMessage(null);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
