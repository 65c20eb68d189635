/**
 * @lenet/data: MNIST for Node and browsers. Nothing here imports Node built-ins; the Node-only loaders
 * (embedded dataset, directories, download cache) live in `@lenet/data/node`.
 */
export {
  AUGMENT_TRANSFORM_FLOATS,
  augmentTransforms,
  writeAugmentTransform,
} from './augment-transform';
export {
  type Augmentation,
  type AugmentationParams,
  applyAugmentation,
  augmentImage,
  drawAugmentation,
} from './augmentation';
export { type BatchOptions, type BatchPlan, batchCount, batchPlans } from './batch-plans';
export { type ArrayBatch, type Batch, batchArrays, batches } from './batching';
export { ChecksumMismatchError, MnistDataError } from './errors';
export { type GrayImage, type GridOptions, makeGrid } from './grid';
export {
  type GunzipOptions,
  gunzipIfNeeded,
  IdxFormatError,
  type IdxImages,
  type IdxLabels,
  parseIdxImages,
  parseIdxLabels,
} from './idx';
export {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  MAX_IDX_FILE_BYTES,
  type NetworkTimeouts,
} from './limits';
export {
  checkMnistSplit,
  type DecodeMnistFileOptions,
  decodeMnistFile,
  type LoadMnistFromUrlOptions,
  loadMnistFromUrl,
  MNIST_DEFAULT_BASE_URL,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  MNIST_IMAGE_SIZE,
  type Mnist,
  type MnistByteCache,
  type MnistDownloadPhase,
  type MnistDownloadProgress,
  type MnistFile,
  type MnistFileKey,
  type MnistSplit,
  parseMnistFiles,
  sha256Hex,
  verifyMnistFile,
} from './mnist';
export { createPilBilinearResizer, type PilResizer } from './pil-resize';
export { type PreparedSplit, prepareSplit } from './prepared-split';
export { createRng, deriveSeed, type Rng, shuffleInPlace } from './random';
export {
  augmentationFor,
  DEFAULT_AUGMENTATION,
  RECIPE_NAMES,
  RECIPES,
  type Recipe,
  type RecipeName,
} from './recipes';
export {
  DEFAULT_PREPROCESSING,
  MNIST_MEAN,
  MNIST_STD,
  type Preprocessing,
  pad28To32,
  pixelValue,
  preprocessImages,
  resizeBilinear28To32,
  SEED_PREPROCESSING,
} from './transforms';
