import type { ReplicaChannel } from '@lenet/ops/parallel';
import type { BackendOptions } from './backend';
import type { ReplicaWorker, ReplicaWorkerStarted } from './replica-worker-port';
import { webWorkerChannel } from './web-worker-channel';

/** Options for {@link webWorkerChannels}. */
export interface WebWorkerOptions extends Pick<BackendOptions, 'backend' | 'wasmPaths'> {
  /** Workers, one replica each. Default: `navigator.hardwareConcurrency`. */
  workers?: number;
  /**
   * Starts one worker. Default: a module worker on this package's `replica-worker.js`. Give your own
   * where the page serves that module elsewhere.
   */
  createWorker?: () => ReplicaWorker;
}

/**
 * Starts `workers` Web Workers, each setting up its own tfjs backend (`setupBackend` with `backend`
 * and `wasmPaths`) and an empty replica, and resolves with a {@link ReplicaChannel} to each once every
 * backend is up; hand them to `ParallelCoordinator.start`, which owns them from then on.
 * @throws when a worker cannot start its backend (the message says which and why); every worker is
 * terminated then.
 */
export async function webWorkerChannels(options: WebWorkerOptions = {}): Promise<ReplicaChannel[]> {
  const count = options.workers ?? globalThis.navigator?.hardwareConcurrency ?? 1;
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new RangeError(`workers must be a positive integer (got ${count}). Try 2.`);
  }
  const createWorker = options.createWorker ?? replicaWorker;
  const workers = Array.from({ length: count }, () => createWorker());
  const starts = await Promise.allSettled(workers.map((worker, index) => started(worker, index, options)));
  const failed = starts.find((start) => start.status === 'rejected');
  if (failed) {
    for (const worker of workers) worker.terminate();
    throw failed.reason;
  }
  return workers.map((worker, index) => webWorkerChannel(worker, index));
}

function replicaWorker(): Worker {
  // This exact form lets bundlers (Vite, webpack, esbuild) find the worker's module and bundle it.
  return new Worker(new URL('./replica-worker.js', import.meta.url), { type: 'module' });
}

/** Tells `worker` which backend to set up; resolves once it is up, rejects with why it is not. */
function started(worker: ReplicaWorker, index: number, options: WebWorkerOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (failure?: Error) => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      if (failure) reject(failure);
      else resolve();
    };
    const onMessage = (event: Event) => {
      const answer = (event as MessageEvent<ReplicaWorkerStarted>).data;
      settle(answer.type === 'ready' ? undefined : new Error(`Training worker ${index} ${answer.message}`));
    };
    const onError = (event: Event) => {
      // A module that fails to load sends a bare Event, without a message.
      const message = (event as ErrorEvent).message || 'its module did not load or threw';
      settle(new Error(`Training worker ${index} crashed while starting: ${message}`));
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    worker.postMessage({ backend: options.backend, wasmPaths: options.wasmPaths }, []);
  });
}
