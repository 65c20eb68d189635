export {
  type BackendChoice,
  type BackendOptions,
  BackendUnavailableError,
  backendProvider,
  listBackends,
  type NodeBackendName,
  releaseBackend,
  useBackend,
} from './backends';
export { type BackendStatus, checkBackends } from './check-backends';
export { errnoMeaning } from './errno';
export { CheckpointError, fileSystemHandler, MODEL_JSON_FILE, WEIGHTS_FILE, writeFileAtomic } from './io';
export {
  diagnoseNativeFailure,
  type NativeDiagnosis,
  type NativeFailureKind,
  type NativePackage,
} from './native-tensorflow';
export { type WorkerThreadOptions, workerThreadChannels } from './parallel/worker-thread-channels';
export {
  type GrayImage,
  type Image,
  MAX_PNG_FILE_BYTES,
  MAX_PNG_SIDE,
  PngError,
  readPngGray,
  writePng,
} from './png';
export {
  describeAdapter,
  type GpuAdapterInfo,
  listGpuAdapters,
  SWIFTSHADER_ICD,
  useSwiftShaderWhenNoVulkanDriver,
  type WebGpuOptions,
} from './webgpu-dawn';
