import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import type { RegisteredKernels } from '../registered-kernels';
import { cpuConv2dBackpropFilter } from './kernels/Conv2DBackpropFilter';
import { cpuFusedAdamUpdate } from './kernels/FusedAdamUpdate';
import { cpuFusedAdamUpdateInPlace } from './kernels/FusedAdamUpdateInPlace';

/** Replacements of stock cpu kernels, and fused kernels @lenet/ops runs where they exist. */
const CPU_KERNELS: KernelConfig[] = [cpuConv2dBackpropFilter, cpuFusedAdamUpdate, cpuFusedAdamUpdateInPlace];

/**
 * Registers our cpu kernels in place of whatever is registered under their names. Call it after
 * `@tensorflow/tfjs-backend-cpu` has been imported (importing it registers its own kernels, which
 * would replace these) — registerKernels does, once the backend is ready. Idempotent.
 */
export function registerCpuKernels(): RegisteredKernels {
  for (const config of CPU_KERNELS) {
    if (getKernel(config.kernelName, 'cpu')?.kernelFunc === config.kernelFunc) continue;
    if (getKernel(config.kernelName, 'cpu') != null) unregisterKernel(config.kernelName, 'cpu');
    registerKernel(config);
  }
  return { backend: 'cpu', kernels: CPU_KERNELS.map((config) => config.kernelName) };
}
