import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type AvgPoolGradAttrs,
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { isTiledPool, tiledPoolSizes } from './simd-avg-pool';
import { heapOffset, simdKernelsFor } from './simd-module';

/**
 * Wraps the wasm backend's `AvgPoolGrad` (`stock`, a plain C loop): pools whose windows tile the
 * input (stride = window, no padding: LeNet's S2 and S4) copy each scaled dy value over its window
 * in SIMD; every other pool goes through `stock`.
 */
export function simdAvgPoolGrad(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: { dy: TensorInfo; input: TensorInfo };
    backend: BackendWasm;
    attrs: AvgPoolGradAttrs;
  }) => {
    const { backend, attrs } = args;
    const { dy, input } = args.inputs;
    const kernels = simdKernelsFor(backend);
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
    );
    if (kernels == null || !isTiledPool(info) || dy.dtype !== 'float32') {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const dx = backend.makeOutput(input.shape, 'float32');
    if (info.batchSize * info.inHeight * info.inWidth * info.inChannels === 0) return dx;
    kernels.avgPoolGradTiled(heapOffset(backend, dy), heapOffset(backend, dx), ...tiledPoolSizes(info));
    return dx;
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}
