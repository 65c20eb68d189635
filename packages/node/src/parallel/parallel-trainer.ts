import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  type LeNet5Options,
  type OptimizerName,
  type OptimizerState,
  ParallelCoordinator,
  type ReplicaRequest,
  ReplicaServer,
} from '@lenet/ops';
import { type NodeBackendName, useBackend } from '../backends';
import { workerChannel } from './worker-channel';

/** Options for {@link createParallelTrainer}. */
export interface ParallelTrainerOptions {
  /** Worker threads, one replica each. Default: the number of CPU cores (at least 1). */
  workers?: number;
  /** tfjs backend every worker uses. Default `'wasm'`. */
  backend?: NodeBackendName;
  /** How to build the model; the same seed on every worker gives the same starting weights. */
  modelOptions?: LeNet5Options;
  /** Default Adam, learning rate 1e-3 (the seed's recipe). */
  optimizer?: { name: OptimizerName; learningRate: number };
  /** Starting weights, flat in PARAM_NAMES order (e.g. from a checkpoint); default: the seeded ones. */
  weights?: Float32Array;
  /** The optimizer's state to start from (from a checkpoint, or `encodeOptimizerState` of a one-thread run). */
  optimizerState?: OptimizerState;
  /** Node flags for the worker threads. Default: the main thread's (`process.execArgv`). */
  execArgv?: string[];
}

/** Data-parallel LeNet-5 training across worker threads. Weights equal a one-thread step's up to float rounding. */
export interface ParallelTrainer {
  /** Number of worker threads (replicas). */
  readonly workers: number;
  /**
   * One step on `count` images (`x`: count·32·32 floats, NHWC) and class ids; resolves with the
   * batch's mean loss once every worker has applied the update. Do not start a step before the
   * previous one resolved. `learningRate`, when given, applies from this step on (schedules).
   */
  step(
    x: Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    learningRate?: number,
  ): Promise<number>;
  /** Learning rate for the following steps (schedules). */
  setLearningRate(learningRate: number): Promise<void>;
  /** The current weights, flat in PARAM_NAMES order; `model.setWeights` takes them per parameter. */
  getWeights(): Promise<Float32Array>;
  /** The optimizer's state (the same on every worker), for checkpoints. */
  getOptimizerState(): Promise<OptimizerState>;
  /** Stops every worker thread. The trainer cannot be used afterwards. */
  dispose(): Promise<void>;
}

/** Marks this module's own worker threads in `workerData`. */
const REPLICA_WORKER = '@lenet/node parallel replica';

interface ReplicaWorkerData {
  [REPLICA_WORKER]: true;
  backend: NodeBackendName;
}

/**
 * Starts `workers` threads, each with its own tfjs backend, model and optimizer, and resolves once
 * all are set up. Each step every worker computes the gradient of its shard of the batch; the main
 * thread sums them weighted by shard size and every worker applies the same sum. The main thread
 * only coordinates, so it stays free to prepare the next batch.
 * @throws when a worker cannot start its backend (the message says why); no thread is left running.
 */
export async function createParallelTrainer(options: ParallelTrainerOptions = {}): Promise<ParallelTrainer> {
  const count = options.workers ?? Math.max(1, availableParallelism());
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new RangeError(`workers must be a positive integer (got ${count}). Try 2.`);
  }
  const backend = options.backend ?? 'wasm';
  const data: ReplicaWorkerData = { [REPLICA_WORKER]: true, backend };
  // The worker runs this very module (or the bundle it is part of); the check at the bottom of
  // this file turns it into a replica there.
  const channels = Array.from({ length: count }, (_, index) =>
    workerChannel(
      new Worker(new URL(import.meta.url), { workerData: data, execArgv: options.execArgv }),
      index,
    ),
  );
  let coordinator: ParallelCoordinator;
  try {
    coordinator = await ParallelCoordinator.start(channels, {
      modelOptions: options.modelOptions ?? {},
      optimizer: options.optimizer ?? { name: 'adam', learningRate: 1e-3 },
      weights: options.weights,
      optimizerState: options.optimizerState,
    });
  } catch (error) {
    await Promise.all(channels.map((channel) => channel.close()));
    throw error;
  }
  return {
    workers: count,
    step: (x, labels, n, learningRate) => coordinator.step(x, labels, n, learningRate),
    setLearningRate: (rate) => coordinator.setLearningRate(rate),
    getWeights: () => coordinator.getWeights(),
    getOptimizerState: () => coordinator.getOptimizerState(),
    dispose: () => coordinator.close(),
  };
}

/** Worker side: sets up the backend, then answers the coordinator's requests in order. */
async function serveReplica(port: NonNullable<typeof parentPort>, data: ReplicaWorkerData): Promise<void> {
  const server = new ReplicaServer();
  let backendFailure: Error | undefined;
  const ready = useBackend(data.backend).catch((error: unknown) => {
    backendFailure = error instanceof Error ? error : new Error(String(error));
  });
  // Requests are handled one at a time, in arrival order, so replies keep the request order.
  let queue: Promise<unknown> = ready;
  port.on('message', (request: ReplicaRequest) => {
    queue = queue.then(async () => {
      const answer = backendFailure
        ? {
            reply: {
              type: 'error' as const,
              message: `could not start the '${data.backend}' backend: ${backendFailure.message}`,
            },
            transfer: [],
          }
        : await server.handle(request);
      port.postMessage(answer.reply, answer.transfer);
    });
  });
}

function isReplicaWorkerData(data: unknown): data is ReplicaWorkerData {
  return typeof data === 'object' && data !== null && REPLICA_WORKER in data;
}

if (!isMainThread && parentPort && isReplicaWorkerData(workerData)) {
  void serveReplica(parentPort, workerData);
}
