import { isDeepStrictEqual } from 'node:util';
import { batches, DEFAULT_PREPROCESSING, type PreparedSplit, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { type NodeBackendName, useBackend, workerThreadChannels } from '@lenet/node';
import { type EvaluationResult, evaluate, LeNet5 } from '@lenet/ops';
import { flatWeights, ParallelCoordinator } from '@lenet/ops/parallel';

/** The mistakes `lenet eval` and the last epoch of `lenet train` list in report/mistakes.png. */
const MISTAKES = 40;
/** Images per batch on one thread, and per replica on the workers, as `lenet eval` and `lenet train` take them. */
const BATCH = 1000;

/** One A/B pair: the test set through `evaluate` on this thread, then through the worker threads. */
export interface EvaluationPair {
  /** `evaluate(model, batches)` on this thread: batches made, forward passes, metrics. */
  oneThreadMs: number;
  /** Starting the worker threads (their backends) and setting up their replicas with the model's weights. */
  startMs: number;
  /** `ParallelCoordinator.evaluate` on the fresh workers: what `lenet eval` with workers would pay after the start. */
  firstMs: number;
  /** The same again on the same workers, warm: what the test pass of a `lenet train` epoch pays. */
  warmMs: number;
  /** Whether both gave the same result (accuracy, confusion, mistakes, loss), bit for bit. */
  same: boolean;
}

export interface EvaluationFigure {
  backend: string;
  workers: number;
  images: number;
  pairs: EvaluationPair[];
}

async function testSplit(): Promise<PreparedSplit> {
  const { test } = await loadEmbeddedMnist();
  return {
    count: test.count,
    labels: test.labels,
    inputs: preprocessImages(test.images, test.count, DEFAULT_PREPROCESSING),
  };
}

async function oneThread(model: LeNet5, split: PreparedSplit): Promise<EvaluationResult> {
  return evaluate(model, batches(split, { batchSize: BATCH, shuffle: false }), { mistakes: MISTAKES });
}

/**
 * The 10,000 MNIST test images through `evaluate` on this thread (A) and over `workers` worker threads
 * (B), alternating A B A B for `pairs` pairs after a warm-up of each, in this process on `name`.
 */
export async function measureEvaluation(
  name: 'auto' | NodeBackendName,
  workers: number,
  pairs: number,
): Promise<EvaluationFigure> {
  const backend = await useBackend(name);
  const split = await testSplit();
  const model = LeNet5.create({ seed: 1 });
  const weights = await flatWeights(model);
  const workerBackend = backend.name as NodeBackendName;

  /** Starts workers, evaluates twice (cold, warm), closes them; every phase timed. */
  const onWorkers = async () => {
    const started = performance.now();
    const coordinator = await ParallelCoordinator.start(
      await workerThreadChannels({ workers, backend: workerBackend }),
      { modelOptions: { seed: 1 }, optimizer: { name: 'adam', learningRate: 1e-3 }, weights },
    );
    try {
      const ready = performance.now();
      const run = () =>
        coordinator.evaluate(split.inputs, split.labels, split.count, {
          mistakes: MISTAKES,
          batchSize: BATCH,
        });
      const first = await run();
      const firstDone = performance.now();
      const warm = await run();
      const warmDone = performance.now();
      return {
        result: warm,
        same: isDeepStrictEqual(first, warm),
        startMs: ready - started,
        firstMs: firstDone - ready,
        warmMs: warmDone - firstDone,
      };
    } finally {
      await coordinator.close();
    }
  };

  await oneThread(model, split); // warm-up: kernels compiled, memory pools grown
  await onWorkers();
  const measured: EvaluationPair[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const started = performance.now();
    const expected = await oneThread(model, split);
    const oneThreadMs = performance.now() - started;
    const { result, same, startMs, firstMs, warmMs } = await onWorkers();
    measured.push({
      oneThreadMs,
      startMs,
      firstMs,
      warmMs,
      same: same && isDeepStrictEqual(result, expected),
    });
  }
  model.dispose();
  return { backend: backend.name, workers, images: split.count, pairs: measured };
}
