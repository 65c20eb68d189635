export { ParallelCoordinator, type ReplicaChannel, ReplicaError } from './coordinator';
export {
  applyGradients,
  computeGradients,
  FLAT_PARAMETER_COUNT,
  flatWeights,
  type ShardGradients,
  shardRanges,
  sumShardGradients,
} from './flat-gradients';
export type { ReplicaReply, ReplicaRequest, ReplicaSetup } from './protocol';
export { type ReplicaAnswer, ReplicaServer, setOptimizerLearningRate } from './replica';
