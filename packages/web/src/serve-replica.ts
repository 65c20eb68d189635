import { type ReplicaAnswer, type ReplicaRequest, ReplicaServer } from '@lenet/ops/parallel';
import { setupBackend } from './backend';
import type { ReplicaWorkerScope, ReplicaWorkerStart, ReplicaWorkerStarted } from './replica-worker-port';

/**
 * A replica worker's whole life, on its side of the messages: the first message says which backend
 * to set up; the worker answers whether that worked, then answers every later message as a replica
 * request, in order.
 */
export function serveReplica(scope: ReplicaWorkerScope): void {
  const server = new ReplicaServer();
  let started: Promise<boolean> | undefined;
  scope.addEventListener('message', (event) => {
    if (!started) {
      started = startBackend(scope, event.data as ReplicaWorkerStart);
      return;
    }
    // The server answers in the order requests arrive, so posting each answer as it comes keeps that order.
    const request = event.data as ReplicaRequest;
    const answer = started.then((ready) => (ready ? server.handle(request) : NO_BACKEND));
    void answer.then(({ reply, transfer }) => scope.postMessage(reply, transfer));
  });
}

const NO_BACKEND: ReplicaAnswer = {
  reply: { type: 'error', message: 'this worker could not start its backend; start a new one.' },
  transfer: [],
};

async function startBackend(scope: ReplicaWorkerScope, options: ReplicaWorkerStart): Promise<boolean> {
  let started: ReplicaWorkerStarted;
  try {
    await setupBackend({ backend: options.backend, wasmPaths: options.wasmPaths });
    started = { type: 'ready' };
  } catch (error) {
    started = {
      type: 'error',
      message: `could not start its backend: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  scope.postMessage(started, []);
  return started.type === 'ready';
}
