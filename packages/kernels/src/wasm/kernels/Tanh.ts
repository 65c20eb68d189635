import { type KernelConfig, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapOffset, withSimdPath } from '../wasm-module';

/**
 * Wraps the wasm backend's `Tanh` (`stock`, a scalar libm loop, the largest kernel in a LeNet
 * step): float32 goes through our SIMD tanh, a rational function within 4e-7 relative of Math.tanh,
 * four lanes at a time; anything else through `stock`.
 */
export function simdTanh(stock: KernelConfig): KernelConfig {
  return withSimdPath<{ x: TensorInfo }>(stock, ({ inputs: { x }, backend }, kernels) => {
    if (x.dtype !== 'float32') return undefined;
    const out = backend.makeOutput(x.shape, 'float32');
    const size = util.sizeFromShape(x.shape);
    if (size > 0) kernels.tanh(heapOffset(backend, x), heapOffset(backend, out), size);
    return out;
  });
}
