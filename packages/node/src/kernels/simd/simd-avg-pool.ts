import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type AvgPoolAttrs,
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { heapOffset, simdKernelsFor } from './simd-module';

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
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: AvgPoolAttrs }) => {
    const { backend, attrs } = args;
    const { x } = args.inputs;
    const kernels = simdKernelsFor(backend);
    if (kernels == null || x.dtype !== 'float32' || x.shape.length !== 4) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const info = backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (!isTiledPool(info))
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const y = backend.makeOutput(info.outShape, 'float32');
    if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return y;
    kernels.avgPoolTiled(heapOffset(backend, x), heapOffset(backend, y), ...tiledPoolSizes(info));
    return y;
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}
