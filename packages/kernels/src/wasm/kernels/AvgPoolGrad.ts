import {
  type AvgPoolGradAttrs,
  backend_util,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { heapOffset, withSimdPath } from '../wasm-module';
import { isTiledPool, tiledPoolSizes } from './AvgPool';

/**
 * Wraps the wasm backend's `AvgPoolGrad` (`stock`, a plain C loop): pools whose windows tile the
 * input (stride = window, no padding: LeNet's S2 and S4) copy each scaled dy value over its window
 * in SIMD; every other pool goes through `stock`.
 */
export function simdAvgPoolGrad(stock: KernelConfig): KernelConfig {
  return withSimdPath<{ dy: TensorInfo; input: TensorInfo }, AvgPoolGradAttrs>(
    stock,
    ({ inputs: { dy, input }, backend, attrs }, kernels) => {
      const info = backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        attrs.filterSize,
        attrs.strides,
        1,
        attrs.pad,
      );
      if (!isTiledPool(info) || dy.dtype !== 'float32') return undefined;
      const dx = backend.makeOutput(input.shape, 'float32');
      if (info.batchSize * info.inHeight * info.inWidth * info.inChannels === 0) return dx;
      kernels.avgPoolGradTiled(heapOffset(backend, dy), heapOffset(backend, dx), ...tiledPoolSizes(info));
      return dx;
    },
  );
}
