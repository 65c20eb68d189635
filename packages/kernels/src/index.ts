/**
 * @lenet/kernels: fast LeNet-5 kernels for tfjs, isomorphic (Node, browsers, workers, bundlers).
 * `registerKernels()` registers, for the active backend, what it can run: the WebAssembly SIMD
 * kernels and the fused LeNet-5 step on wasm, faster cpu kernels and a fused Adam on cpu.
 * @lenet/ops names the fused kernels and their contract (kernel-names.ts) and runs them where they
 * are registered.
 */
export { registerCpuKernels } from './cpu/register-cpu-kernels';
export { registerKernels } from './register-kernels';
export type { RegisteredKernels } from './registered-kernels';
export { registerWasmKernels } from './wasm/register-wasm-kernels';
export {
  usePlainSimdOnly,
  type WasmSimdVariant,
  wasmSimdVariant,
  whySimdCannotRun,
} from './wasm/wasm-module';
