// '@lenet/web/workers': data-parallel training on Web Workers. An entry point of its own because it
// names the worker's module (`new Worker(new URL('./replica-worker.js', import.meta.url))`), which a
// bundler then builds as a worker: apps that do not import this entry build none.
export type { ReplicaWorker, ReplicaWorkerScope } from './replica-worker-port';
export { serveReplica } from './serve-replica';
export { webWorkerChannel } from './web-worker-channel';
export { type WebWorkerOptions, webWorkerChannels } from './web-worker-channels';
