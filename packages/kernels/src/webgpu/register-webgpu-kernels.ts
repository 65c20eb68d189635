import { getKernel, type KernelConfig, registerKernel } from '@tensorflow/tfjs-core';
import type { RegisteredKernels } from '../registered-kernels';
import { webgpuFusedAdamUpdate } from './kernels/FusedAdamUpdate';
import { webgpuLeNet5Gradients } from './kernels/LeNet5Gradients';
import { webgpuLeNet5Logits } from './kernels/LeNet5Logits';

/** Our WGSL kernels, one file per kernel config in ./kernels. They need only WebGPU's default limits. */
const KERNELS: KernelConfig[] = [webgpuLeNet5Gradients, webgpuLeNet5Logits, webgpuFusedAdamUpdate];

/**
 * Registers the fused LeNet-5 kernels for tfjs-backend-webgpu, in Node (Dawn) and browsers alike:
 * `LeNet5Gradients` (a training step's loss and gradients in three dispatches), `LeNet5Logits` (one)
 * and `FusedAdamUpdate` (one per variable). A kernel someone else registered under one of these names
 * is left in place. Idempotent.
 */
export function registerWebGpuKernels(): RegisteredKernels {
  const kernels: string[] = [];
  for (const config of KERNELS) {
    if (getKernel(config.kernelName, 'webgpu') == null) registerKernel(config);
    if (getKernel(config.kernelName, 'webgpu')?.kernelFunc === config.kernelFunc)
      kernels.push(config.kernelName);
  }
  return { backend: 'webgpu', kernels };
}
