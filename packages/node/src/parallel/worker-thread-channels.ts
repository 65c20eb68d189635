import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ReplicaChannel } from '@lenet/ops/parallel';
import type { NodeBackendName } from '../backends';
import { workerChannel } from './worker-channel';

/** Options for {@link workerThreadChannels}. */
export interface WorkerThreadOptions {
  /** Worker threads, one replica each. Default: the number of CPU cores. */
  workers?: number;
  /** tfjs backend every worker sets up. Default `'wasm'`. */
  backend?: NodeBackendName;
  /** Node flags for the worker threads. Default: the main thread's (`process.execArgv`). */
  execArgv?: string[];
}

/** What a replica worker is told when it starts (its `workerData`). */
export interface ReplicaWorkerData {
  backend: NodeBackendName;
}

/** A replica worker's first message: its backend is up, or why it is not. */
export type ReplicaWorkerStart = { type: 'ready' } | { type: 'error'; message: string };

/**
 * Starts `workers` threads, each with its own tfjs backend and an empty replica, and resolves with a
 * {@link ReplicaChannel} to each once every backend is up; hand them to `ParallelCoordinator.start`,
 * which owns them from then on. The main thread only coordinates, so it stays free to prepare the
 * next batch.
 * @throws when a worker cannot start its backend (the message says which worker and why); no thread
 * is left running then.
 */
export async function workerThreadChannels(options: WorkerThreadOptions = {}): Promise<ReplicaChannel[]> {
  const count = options.workers ?? availableParallelism();
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new RangeError(`workers must be a positive integer (got ${count}). Try 2.`);
  }
  const workerData: ReplicaWorkerData = { backend: options.backend ?? 'wasm' };
  const workers = Array.from(
    { length: count },
    // This exact form lets bundlers find the worker's module; from source, tests map it to the .ts file.
    () =>
      new Worker(new URL('./replica-worker.js', import.meta.url), { workerData, execArgv: options.execArgv }),
  );
  const starts = await Promise.allSettled(workers.map((worker, index) => started(worker, index)));
  const failed = starts.find((start) => start.status === 'rejected');
  if (failed) {
    await Promise.all(workers.map((worker) => worker.terminate()));
    throw failed.reason;
  }
  return workers.map((worker, index) => workerChannel(worker, index));
}

/** Resolves once `worker` says its backend is up; rejects with why it is not, or why it died first. */
function started(worker: Worker, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (failure?: Error) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (failure) reject(failure);
      else resolve();
    };
    const onMessage = (start: ReplicaWorkerStart) =>
      settle(start.type === 'ready' ? undefined : new Error(`Training worker ${index} ${start.message}`));
    const onError = (error: Error) =>
      settle(
        new Error(`Training worker ${index} crashed while starting: ${error.message}`, { cause: error }),
      );
    const onExit = (code: number) =>
      settle(new Error(`Training worker ${index} exited while starting (code ${code}).`));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
