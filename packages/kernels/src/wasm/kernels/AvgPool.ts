import { type AvgPoolAttrs, backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset, withSimdPath } from '../wasm-module';

/** Whether a pool's windows tile its input: stride = window, no padding, NHWC. */
export function isTiledPool(info: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return (
    info.strideHeight === info.filterHeight &&
    info.strideWidth === info.filterWidth &&
    top + bottom + left + right === 0 &&
    info.dataFormat === 'channelsLast'
  );
}

/** A tiled pool's sizes in the order the kernels take them: batch, inH, inW, outH, outW, channels, window. */
export function tiledPoolSizes(
  info: backend_util.Conv2DInfo,
): [number, number, number, number, number, number, number, number] {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, inChannels, filterHeight, filterWidth } = info;
  return [batchSize, inHeight, inWidth, outHeight, outWidth, inChannels, filterHeight, filterWidth];
}

/**
 * Wraps the wasm backend's `AvgPool` (`stock`, XNNPACK): pools whose windows tile the input (LeNet's
 * S2 and S4) average each window in SIMD without XNNPACK's per-call setup; others go through `stock`.
 */
export function simdAvgPool(stock: KernelConfig): KernelConfig {
  return withSimdPath<{ x: TensorInfo }, AvgPoolAttrs>(
    stock,
    ({ inputs: { x }, backend, attrs }, kernels) => {
      if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
      const info = backend_util.computePool2DInfo(
        x.shape as [number, number, number, number],
        attrs.filterSize,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
      );
      if (!isTiledPool(info)) return undefined;
      const y = backend.makeOutput(info.outShape, 'float32');
      if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return y;
      kernels.avgPoolTiled(heapOffset(backend, x), heapOffset(backend, y), ...tiledPoolSizes(info));
      return y;
    },
  );
}
