import { type KernelConfig, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapOffset, withScratch, withSimdPath } from '../wasm-module';

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Wraps the wasm backend's `Add` (`stock`): adding a float32 vector of C values to a tensor whose
 * last axis has C values (a layer's bias, either operand order) runs as one SIMD pass, where the
 * stock kernel runs a general broadcasting loop; every other sum goes through `stock`.
 */
export function simdBiasAdd(stock: KernelConfig): KernelConfig {
  return withSimdPath<{ a: TensorInfo; b: TensorInfo }>(stock, ({ inputs: { a, b }, backend }, kernels) => {
    const [tensor, bias] = b.shape.length === 1 ? [a, b] : [b, a];
    const channels = bias.shape[0];
    const fits =
      a.dtype === 'float32' &&
      b.dtype === 'float32' &&
      bias.shape.length === 1 &&
      tensor.shape.length >= 2 &&
      channels !== undefined &&
      channels > 0 &&
      tensor.shape[tensor.shape.length - 1] === channels;
    if (!fits) return undefined;
    const out = backend.makeOutput(tensor.shape, 'float32');
    const size = util.sizeFromShape(tensor.shape);
    if (size === 0) return out;
    // The bias repeated to a multiple of 4 values, so vectors can run over the whole tensor.
    const period = (channels * 4) / gcd(channels, 4);
    withScratch(backend, period, (pattern) => {
      const biasValues = backend.typedArrayFromHeap(bias) as Float32Array;
      const repeated = new Float32Array(biasValues.buffer, pattern, period);
      for (let i = 0; i < period; i += channels) repeated.set(biasValues, i);
      kernels.addRepeating(
        heapOffset(backend, tensor),
        pattern,
        heapOffset(backend, out),
        size,
        period,
        false,
      );
    });
    return out;
  });
}
