import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `compute` on the cpu backend, then on wasm (with whatever kernels the test registered), on
 * the same inputs, and returns both results. The caller imports both backends.
 */
export async function onCpuAndWasm<T>(compute: () => T): Promise<{ cpu: T; wasm: T }> {
  await tf.setBackend('cpu');
  const cpu = compute();
  await tf.setBackend('wasm');
  return { cpu, wasm: compute() };
}
