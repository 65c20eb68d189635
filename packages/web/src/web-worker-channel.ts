import type { ReplicaChannel, ReplicaReply, ReplicaRequest } from '@lenet/ops/parallel';
import type { ReplicaWorker } from './replica-worker-port';

/**
 * A {@link ReplicaChannel} over one Web Worker (or anything that posts messages like one). Replies
 * arrive in request order, so pending requests form a queue. If the worker throws an uncaught error
 * or sends a reply that cannot be read, every pending and later request rejects with an error that
 * says so, instead of hanging, and the worker is terminated: what it holds can no longer be trusted.
 */
export function webWorkerChannel(worker: ReplicaWorker, index: number): ReplicaChannel {
  const pending: Array<{ resolve: (reply: ReplicaReply) => void; reject: (error: Error) => void }> = [];
  let failure: Error | undefined;

  const fail = (error: Error) => {
    if (!failure) {
      failure = error;
      worker.terminate();
    }
    for (const request of pending.splice(0)) request.reject(failure);
  };
  worker.addEventListener('message', (event) => pending.shift()?.resolve((event as MessageEvent).data));
  worker.addEventListener('error', (event) => {
    const message = (event as ErrorEvent).message || 'an uncaught error';
    fail(new Error(`Training worker ${index} crashed: ${message}`));
  });
  worker.addEventListener('messageerror', () =>
    fail(new Error(`Training worker ${index} sent a reply that could not be read.`)),
  );

  return {
    request(request: ReplicaRequest, transfer: ArrayBuffer[] = []): Promise<ReplicaReply> {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
        worker.postMessage(request, transfer);
      });
    },
    async close(): Promise<void> {
      fail(new Error(`Training worker ${index} was closed; start new workers.`));
    },
  };
}
