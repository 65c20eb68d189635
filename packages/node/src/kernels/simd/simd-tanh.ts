import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapOffset, simdKernelsFor } from './simd-module';

/**
 * Wraps the wasm backend's `Tanh` (`stock`, a scalar libm loop, the largest kernel in a LeNet
 * step): float32 goes through our SIMD tanh, a rational function within 4e-7 relative of Math.tanh,
 * about 8x faster;
 * anything else through `stock`.
 */
export function simdTanh(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: object }) => {
    const { backend } = args;
    const { x } = args.inputs;
    const kernels = simdKernelsFor(backend);
    if (kernels == null || x.dtype !== 'float32') {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const out = backend.makeOutput(x.shape, 'float32');
    const size = util.sizeFromShape(x.shape);
    if (size > 0) kernels.tanh(heapOffset(backend, x), heapOffset(backend, out), size);
    return out;
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}
