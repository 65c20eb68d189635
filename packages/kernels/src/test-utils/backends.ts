import * as tf from '@tensorflow/tfjs-core';
import { registerKernels } from '../register-kernels';

/** Makes `name` the active backend with our kernels registered for it, as @lenet/node and @lenet/web do. */
export async function useBackendWithKernels(name: 'cpu' | 'wasm'): Promise<void> {
  await tf.setBackend(name);
  if (tf.getBackend() !== name) throw new Error(`tfjs did not switch to the ${name} backend`);
  registerKernels();
}

/**
 * Runs `compute` on the cpu backend, then on wasm, on the same inputs, and returns both results;
 * both backends with our kernels. The caller imports both backends.
 */
export async function onCpuAndWasm<T>(compute: () => T): Promise<{ cpu: T; wasm: T }> {
  await useBackendWithKernels('cpu');
  const cpu = compute();
  await useBackendWithKernels('wasm');
  return { cpu, wasm: compute() };
}
