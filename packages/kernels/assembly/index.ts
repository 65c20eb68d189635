// WebAssembly SIMD kernels for the layers LeNet-5 spends its time in, compiled with AssemblyScript
// (`pnpm --filter @lenet/kernels build:wasm`). The module imports the tfjs wasm backend's own
// memory, so every pointer is a tensor's byte offset in that heap: no copies in or out. It
// allocates nothing and holds no data of its own; scratch space comes from the backend's malloc.
// This file is the module's whole interface: each export becomes a wasm export, and
// scripts/build-wasm.mjs generates the JavaScript signatures from the compiler's typings.
export { adamUpdate } from './adam';
export {
  conv2dFilterGradient,
  conv2dFilterGradientOneChannel,
  conv2dForwardOneChannel,
  conv2dForwardTanh,
  conv2dInputGradient,
  filterRowsByOutput,
} from './convolution';
export { padRows, transposePadded, unpadRows } from './layout';
export {
  accumulate,
  addRepeating,
  avgPoolTanhGradientPlanar,
  biasTanhAvgPool2x2,
  sumPlanes,
  tanhGradient,
} from './lenet5-step';
export { matmul, sumRows } from './matmul';
export { avgPoolGradTiled, avgPoolTiled } from './pooling';
export { tanh } from './tanh';
