import type { Worker } from 'node:worker_threads';
import type { ReplicaChannel, ReplicaReply, ReplicaRequest } from '@lenet/ops/parallel';

/**
 * A {@link ReplicaChannel} over one worker thread. Replies arrive in request order, so pending
 * requests form a queue. If the worker crashes or exits, every pending and later request rejects
 * with an error that says so, instead of hanging.
 */
export function workerChannel(worker: Worker, index: number): ReplicaChannel {
  const pending: Array<{ resolve: (reply: ReplicaReply) => void; reject: (error: Error) => void }> = [];
  let failure: Error | undefined;
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  const fail = (error: Error) => {
    failure ??= error;
    for (const request of pending.splice(0)) request.reject(failure);
  };
  worker.on('message', (reply: ReplicaReply) => pending.shift()?.resolve(reply));
  worker.on('error', (error) =>
    fail(new Error(`Training worker ${index} crashed: ${error.message}`, { cause: error })),
  );
  worker.on('exit', (code) => {
    exited = true;
    fail(new Error(`Training worker ${index} exited (code ${code}); start new worker threads.`));
  });

  return {
    request(request: ReplicaRequest, transfer: ArrayBuffer[] = []): Promise<ReplicaReply> {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
        worker.postMessage(request, transfer);
      });
    },
    async close(): Promise<void> {
      if (!exited) await worker.terminate();
      await exit;
    },
  };
}
