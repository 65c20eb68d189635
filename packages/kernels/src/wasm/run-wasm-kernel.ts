import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getKernel, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

/** What a wasm kernel function takes. */
export type WasmKernelArgs = { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: object };

/**
 * Runs one of the wasm backend's own kernels directly on TensorInfos (no engine, no tape), so a
 * kernel of ours can build on it. The caller disposes what it returns unless it returns it.
 */
export function runWasmKernel(kernelName: string, args: WasmKernelArgs): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm');
  if (kernel == null) {
    throw new Error(
      `The @lenet/node wasm training kernels need the wasm backend's ${kernelName} kernel, which is ` +
        'not registered. Import @tensorflow/tfjs-backend-wasm before training on wasm.',
    );
  }
  return kernel.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
}
