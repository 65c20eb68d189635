// Registers every gradient first, so any user of @lenet/ops can train with tfjs-core alone.
import './gradients';

// The PyTorch weights formats and data-parallel training have entry points of their own:
// '@lenet/ops/pytorch' and '@lenet/ops/parallel'.

export { augmentBatch } from './augment-batch';
export {
  type BackendChoice,
  BackendUnavailableError,
  type BackendUnavailableErrorOptions,
  describeAdapter,
  type GpuAdapterInfo,
  type SkippedBackend,
} from './backend-choice';
export {
  type EvaluateOptions,
  EvaluationMetrics,
  type EvaluationResult,
  evaluate,
  evaluateLogits,
  type LabelledBatch,
  type Mistake,
  predictProbabilities,
} from './evaluate';
export { FusedAdamOptimizer } from './fused-adam';
export * from './kernel-names';
export { crossEntropy, logSoftmax, softmax } from './loss';
export {
  ACTIVATIONS,
  type Activation,
  DEFAULT_SEED,
  type FeatureMaps,
  INPUT_SIZE,
  InputShapeError,
  LAYER_NAMES,
  type LayerName,
  LeNet5,
  type LeNet5Options,
  NUM_CLASSES,
  PARAM_NAMES,
  PARAM_SHAPES,
  type ParamName,
  POOLINGS,
  type Pooling,
  WeightsMismatchError,
  type WeightValue,
} from './model';
export { type Saliency, type SaliencyOptions, saliency } from './saliency';
export { type LearningRateSchedule, learningRateAt } from './schedule';
export { formatSummary, type SummaryRow, shapeWalk, summary } from './summary';
export {
  createOptimizer,
  MOMENTUM,
  NonFiniteLossError,
  OPTIMIZER_NAMES,
  type OptimizerName,
  trainStep,
} from './train';
export {
  describeNonFiniteWeights,
  findNonFiniteWeights,
  type LoadWeightsOptions,
  loadWeights,
  type NonFiniteWeight,
  NonFiniteWeightsError,
  saveWeights,
  WEIGHTS_FORMAT,
  WeightsFormatError,
} from './weights';
export {
  type CheckedWeightsGroup,
  type CheckedWeightsManifest,
  checkWeightSpecs,
  checkWeightsManifest,
  MAX_MODEL_JSON_BYTES,
  MAX_WEIGHTS_BYTES,
  MAX_WEIGHTS_FILES,
  WeightsManifestError,
} from './weights-manifest';
