export { ParallelCoordinator, type ReplicaChannel, ReplicaError } from './coordinator';
export { FlatAdam } from './flat-adam';
export {
  applyGradients,
  computeGradients,
  FLAT_PARAMETER_COUNT,
  flatWeights,
  type ShardGradients,
  shardRanges,
  sumShardGradients,
  unflattenWeights,
} from './flat-gradients';
export { decodeOptimizerState, encodeOptimizerState } from './optimizer-state';
export type { OptimizerState, ReplicaReply, ReplicaRequest, ReplicaSetup } from './protocol';
export { type ReplicaAnswer, ReplicaServer, setOptimizerLearningRate } from './replica';
