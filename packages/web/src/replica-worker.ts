// The module of every Web Worker that webWorkerChannels starts: one data-parallel replica.
import type { ReplicaWorkerScope } from './replica-worker-port';
import { serveReplica } from './serve-replica';

// A worker's global scope, which this package's DOM typings know only as Window.
serveReplica(self as unknown as ReplicaWorkerScope);
