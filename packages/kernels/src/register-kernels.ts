import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerCpuKernels } from './cpu/register-cpu-kernels';
import type { RegisteredKernels } from './registered-kernels';
import { registerWasmKernels } from './wasm/register-wasm-kernels';
import { registerWebGpuKernels } from './webgpu/register-webgpu-kernels';

/**
 * Registers our kernels for the active tfjs backend, only those it can run, and says which. Call it
 * once the backend is ready, after `await tf.setBackend(name)` (check `tf.getBackend()`: setBackend
 * can resolve false and keep another backend), and again after switching backends. Idempotent.
 * Backends we have no kernels for (webgl, tfjs-node's tensorflow) get none: their stock kernels
 * already train LeNet-5.
 */
export function registerKernels(): RegisteredKernels {
  const name = tf.getBackend();
  switch (name) {
    case 'wasm':
      return registerWasmKernels(tf.backend() as BackendWasm);
    case 'cpu':
      return registerCpuKernels();
    case 'webgpu':
      return registerWebGpuKernels();
    default:
      return { backend: name, kernels: [] };
  }
}
