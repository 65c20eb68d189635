/**
 * @lenet/web: LeNet-5 in browsers. Backend setup (WebGPU first, with fallbacks that say why), trained weights from
 * a URL, MNIST's preprocessing for canvas drawings, and pictures of feature maps and kernels. ESM, no Node imports.
 */
export { type Analysis, analyse, type LayerValues } from './analyse';
export {
  type BackendChoice,
  type BackendOptions,
  BackendUnavailableError,
  BROWSER_BACKENDS,
  type BrowserBackend,
  parseBackendName,
  type SkippedBackend,
  setupBackend,
  TRAINING_BACKENDS,
} from './backend';
export { browserMnistCache, type LoadSiteMnistOptions, loadSiteMnist, MNIST_CACHE_NAME } from './mnist-cache';
export {
  divergingColour,
  featureMapPictures,
  floatPicture,
  grayPicture,
  kernelPictures,
  type Picture,
  type PictureOptions,
  vectorPicture,
} from './pictures';
export {
  type Box,
  boundingBox,
  centreByMass,
  centreOfMass,
  cropAndFit,
  DIGIT_BOX_SIZE,
  type DrawingSteps,
  type ImageDataLike,
  type InkSource,
  inkFromImageData,
  MNIST_SIZE,
  preprocessDrawing,
} from './preprocess';
export type { ReplicaWorker, ReplicaWorkerScope } from './replica-worker-port';
export { serveReplica } from './serve-replica';
export { webWorkerChannel } from './web-worker-channel';
export {
  DEFAULT_PREPROCESSING,
  type LoadedWeights,
  type LoadWeightsOptions,
  loadWeightsFromUrl,
  WeightsLoadError,
} from './weights';
export {
  type LoadedWeightsFiles,
  MAX_PYTORCH_FILE_BYTES,
  WEIGHTS_FILE_NAMES,
  type WeightsDownload,
  type WeightsFileFormat,
  type WeightsFileInput,
  type WeightsFromFilesOptions,
  weightsDownloads,
  weightsFromFiles,
} from './weights-files';
