// Reading and writing the seed's PyTorch LeNet-5 weights. Works on bytes only (no file system), so
// Node and browsers share it.
export { type Float32Tensor, type FloatDType, type StoredTensor, toFloat32 } from './dtypes';
export { PyTorchFormatError, StateDictMismatchError } from './errors';
export { leNetToStateDict, PYTORCH_PARAM_NAMES, PYTORCH_PARAMS, stateDictToLeNet } from './lenet5-state-dict';
export { PYTORCH_READ_LIMITS } from './limits';
export {
  detectPyTorchFormat,
  exportSafetensors,
  type ImportedPyTorchWeights,
  importPyTorchWeights,
  type PyTorchFileFormat,
  SAFETENSORS_METADATA_KEYS,
  SEED_PREPROCESSING,
  type WeightsPreprocessing,
} from './pytorch-weights';
export { readSafetensors, type SafetensorsFile, writeSafetensors } from './safetensors';
export { readTorchCheckpoint } from './torch-checkpoint';
