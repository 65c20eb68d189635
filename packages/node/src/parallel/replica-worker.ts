// The module every worker thread of workerThreadChannels runs: it sets up the backend it was given,
// says whether that worked, then answers one replica's requests in order.
import { parentPort, workerData } from 'node:worker_threads';
import { type ReplicaRequest, ReplicaServer } from '@lenet/ops/parallel';
import { useBackend } from '../backends';
import type { ReplicaWorkerData, ReplicaWorkerStart } from './worker-thread-channels';

async function serveReplica(port: NonNullable<typeof parentPort>, { backend }: ReplicaWorkerData) {
  try {
    await useBackend(backend);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    port.postMessage({
      type: 'error',
      message: `could not start the '${backend}' backend: ${reason}`,
    } satisfies ReplicaWorkerStart);
    return;
  }
  const server = new ReplicaServer();
  // The server answers in the order requests arrive, so posting each answer as it comes keeps that order.
  port.on('message', (request: ReplicaRequest) => {
    void server.handle(request).then(({ reply, transfer }) => port.postMessage(reply, transfer));
  });
  port.postMessage({ type: 'ready' } satisfies ReplicaWorkerStart);
}

if (!parentPort) {
  throw new Error(
    'replica-worker is the module of a training worker thread; start those with workerThreadChannels.',
  );
}
void serveReplica(parentPort, workerData as ReplicaWorkerData);
