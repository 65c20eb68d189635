// Data-parallel training over any transport: '@lenet/ops/parallel'. Replicas train, so this entry
// registers tfjs-core's gradients as the root one does.
import '../gradients';

export {
  ParallelCoordinator,
  type ParallelEvaluateOptions,
  type ReplicaChannel,
  ReplicaError,
} from './coordinator';
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
export { inProcessChannel } from './in-process-channel';
export { computeLogits } from './logits';
export { decodeOptimizerState, encodeOptimizerState } from './optimizer-state';
export { OrderedReplies } from './ordered-replies';
export type { OptimizerState, ReplicaReply, ReplicaRequest, ReplicaSetup, ReplicaUpdate } from './protocol';
export { type ReplicaAnswer, ReplicaServer, setOptimizerLearningRate } from './replica';
