import { type KernelConfig, type SumAttrs, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapOffset, withSimdPath } from '../wasm-module';

/**
 * Wraps the wasm backend's `Sum` (`stock`): a float32 sum over every axis but the last (a bias's
 * gradient, summed over batch, rows and columns) runs down the rows in SIMD, where the stock kernel
 * first transposes the whole tensor; every other sum goes through `stock`.
 */
export function simdSum(stock: KernelConfig): KernelConfig {
  return withSimdPath<{ x: TensorInfo }, SumAttrs>(stock, ({ inputs: { x }, backend, attrs }, kernels) => {
    const rank = x.shape.length;
    const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
    const leadingAxes = rank >= 2 && axes.length === rank - 1 && axes.every((axis, i) => axis === i);
    const size = util.sizeFromShape(x.shape);
    if (!leadingAxes || x.dtype !== 'float32' || size === 0) return undefined;
    const channels = x.shape[rank - 1]!;
    const shape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels];
    const out = backend.makeOutput(shape, 'float32');
    kernels.sumRows(heapOffset(backend, x), heapOffset(backend, out), size / channels, channels);
    return out;
  });
}
