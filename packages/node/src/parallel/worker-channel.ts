import type { Worker } from 'node:worker_threads';
import {
  OrderedReplies,
  type ReplicaChannel,
  type ReplicaReply,
  type ReplicaRequest,
} from '@lenet/ops/parallel';

/**
 * A {@link ReplicaChannel} over one worker thread. If the worker crashes or exits, every pending and
 * later request rejects with an error that says so, instead of hanging.
 */
export function workerChannel(worker: Worker, index: number): ReplicaChannel {
  const replies = new OrderedReplies();
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (reply: ReplicaReply) => replies.answer(reply));
  worker.on('error', (error) =>
    replies.fail(new Error(`Training worker ${index} crashed: ${error.message}`, { cause: error })),
  );
  worker.on('exit', (code) => {
    exited = true;
    replies.fail(new Error(`Training worker ${index} exited (code ${code}); start new worker threads.`));
  });

  return {
    request(request: ReplicaRequest, transfer: ArrayBuffer[] = []): Promise<ReplicaReply> {
      return replies.send(() => worker.postMessage(request, transfer));
    },
    async close(): Promise<void> {
      if (!exited) await worker.terminate();
      await exit;
    },
  };
}
