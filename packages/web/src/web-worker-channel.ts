import {
  OrderedReplies,
  type ReplicaChannel,
  type ReplicaReply,
  type ReplicaRequest,
} from '@lenet/ops/parallel';
import type { ReplicaWorker } from './replica-worker-port';

/**
 * A {@link ReplicaChannel} over one Web Worker (or anything that posts messages like one). If the
 * worker throws an uncaught error or sends a reply that cannot be read, every pending and later
 * request rejects with an error that says so, instead of hanging, and the worker is terminated:
 * what it holds can no longer be trusted.
 */
export function webWorkerChannel(worker: ReplicaWorker, index: number): ReplicaChannel {
  const replies = new OrderedReplies();
  const fail = (error: Error) => {
    if (replies.fail(error)) worker.terminate();
  };
  worker.addEventListener('message', (event) => replies.answer((event as MessageEvent).data));
  worker.addEventListener('error', (event) => {
    const message = (event as ErrorEvent).message || 'an uncaught error';
    fail(new Error(`Training worker ${index} crashed: ${message}`));
  });
  worker.addEventListener('messageerror', () =>
    fail(new Error(`Training worker ${index} sent a reply that could not be read.`)),
  );

  return {
    request(request: ReplicaRequest, transfer: ArrayBuffer[] = []): Promise<ReplicaReply> {
      return replies.send(() => worker.postMessage(request, transfer));
    },
    async close(): Promise<void> {
      fail(new Error(`Training worker ${index} was closed; start new workers.`));
    },
  };
}
