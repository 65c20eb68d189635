export {
  type BackendChoice,
  BackendUnavailableError,
  listBackends,
  type NodeBackendName,
  useBackend,
} from './backends';
export { CheckpointError, fileSystemHandler, MODEL_JSON_FILE, WEIGHTS_FILE, writeFileAtomic } from './io';
export { registerFastCpuKernels } from './kernels/cpu-kernels';
export { registerWasmTrainingKernels } from './kernels/wasm-kernels';
export { type GrayImage, type Image, PngError, readPngGray, writePng } from './png';
