import type { RegisteredKernels } from '../registered-kernels';

/**
 * The place for WGSL kernels (LeNet5Gradients, LeNet5Logits, FusedAdamUpdate as webgpu programs),
 * one file per kernel config in ./kernels, listed here as the wasm ones are. None yet: the stock
 * tfjs-webgpu kernels serve every call.
 */
export function registerWebGpuKernels(): RegisteredKernels {
  return { backend: 'webgpu', kernels: [] };
}
