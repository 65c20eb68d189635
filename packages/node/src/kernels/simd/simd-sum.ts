import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type KernelConfig,
  type KernelFunc,
  type SumAttrs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { heapOffset, simdKernelsFor } from './simd-module';

/**
 * Wraps the wasm backend's `Sum` (`stock`): a float32 sum over every axis but the last (a bias's
 * gradient, summed over batch, rows and columns) runs down the rows in SIMD, where the stock kernel
 * first transposes the whole tensor; every other sum goes through `stock`.
 */
export function simdSum(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SumAttrs }) => {
    const { backend, attrs } = args;
    const { x } = args.inputs;
    const kernels = simdKernelsFor(backend);
    const rank = x.shape.length;
    const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
    const leadingAxes = rank >= 2 && axes.length === rank - 1 && axes.every((axis, i) => axis === i);
    const size = util.sizeFromShape(x.shape);
    if (kernels == null || !leadingAxes || x.dtype !== 'float32' || size === 0) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const channels = x.shape[rank - 1]!;
    const shape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels];
    const out = backend.makeOutput(shape, 'float32');
    kernels.sumRows(heapOffset(backend, x), heapOffset(backend, out), size / channels, channels);
    return out;
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}
