import { getKernel, type KernelConfig, registerKernel } from '@tensorflow/tfjs-core';
import type { RegisteredKernels } from '../registered-kernels';
import { webgpuAugmentBatch } from './kernels/AugmentBatch';
import { webgpuFusedAdamUpdate } from './kernels/FusedAdamUpdate';
import { webgpuLeNet5Gradients } from './kernels/LeNet5Gradients';
import { webgpuLeNet5Logits } from './kernels/LeNet5Logits';

/** Our WGSL kernels, one file per kernel config in ./kernels. They need only WebGPU's default limits. */
const KERNELS: KernelConfig[] = [
  webgpuLeNet5Gradients,
  webgpuLeNet5Logits,
  webgpuFusedAdamUpdate,
  webgpuAugmentBatch,
];

/**
 * Registers the fused LeNet-5 kernels for tfjs-backend-webgpu, in Node (Dawn) and browsers alike:
 * `LeNet5Gradients` (a training step's loss and gradients in 11 dispatches), `LeNet5Logits` (5)
 * and `FusedAdamUpdate` (one per variable), and `AugmentBatch` (a batch gathered from a dataset on the
 * GPU and distorted there, in one dispatch). A kernel someone else registered under one of these names
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
