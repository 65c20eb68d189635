import type * as tf from '@tensorflow/tfjs-core';
import type { LeNet5Options } from '../model';
import type { OptimizerName } from '../train';

// The messages between a coordinator and its replicas. Plain data and typed arrays only, so they
// cross any structured-clone transport: Node worker_threads, Web Workers, MessageChannel.

/** How every replica builds its model and optimizer; identical on all, so their weights stay identical. */
export interface ReplicaSetup {
  modelOptions: LeNet5Options;
  optimizer: { name: OptimizerName; learningRate: number };
  /** Starting weights, flat in PARAM_NAMES order; omitted: `LeNet5.create(modelOptions)`'s seeded ones. */
  weights?: Float32Array;
  /** The optimizer's state (Adam's moments, its step count) to start from, e.g. from a checkpoint. */
  optimizerState?: OptimizerState;
}

/** A tfjs optimizer's `getWeights()`, encoded as tf.io weight specs and bytes, in the optimizer's own order. */
export interface OptimizerState {
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

/** Summed gradients for the optimizer to apply, at `learningRate` when given (and from then on). */
export interface ReplicaUpdate {
  gradients: Float32Array;
  learningRate?: number;
}

/** Coordinator to replica. */
export type ReplicaRequest =
  | { type: 'setup'; setup: ReplicaSetup }
  /**
   * Gradient of the mean loss over `count` images (count·32·32 floats) and labels, after applying
   * `update` (the previous step's, sent along to save a round trip) when there is one.
   */
  | { type: 'gradients'; x: Float32Array; labels: Int32Array; count: number; update?: ReplicaUpdate }
  /**
   * Forward only: the logits of `count` images (count·32·32 floats) with the replica's weights, after
   * applying `update` when there is one (as with 'gradients'). Nothing is trained.
   */
  | { type: 'logits'; x: Float32Array; count: number; update?: ReplicaUpdate }
  /** Apply this update now. */
  | ({ type: 'apply' } & ReplicaUpdate)
  | { type: 'set-learning-rate'; learningRate: number }
  | { type: 'get-weights' }
  | { type: 'get-optimizer-state' };

/** Replica to coordinator: one reply per request, in order. */
export type ReplicaReply =
  | { type: 'ready' }
  | { type: 'gradients'; loss: number; gradients: Float32Array; count: number }
  /** count·10 floats, row-major: image i's logits at [10·i, 10·i + 10). */
  | { type: 'logits'; logits: Float32Array; count: number }
  | { type: 'done' }
  | { type: 'weights'; weights: Float32Array }
  | { type: 'optimizer-state'; state: OptimizerState }
  /** The request failed; `message` says why (the replica keeps serving). */
  | { type: 'error'; message: string; stack?: string };
