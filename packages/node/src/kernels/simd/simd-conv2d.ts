import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type Conv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { convolutionSizes, fitsSimdConvolution, heapOffset, simdKernelsFor } from './simd-module';

/**
 * Wraps the wasm backend's `Conv2D` (`stock`, XNNPACK): a float32 convolution of a one-channel
 * input, stride 1 and no padding (LeNet's C1, where XNNPACK reaches a quarter of its speed on C3)
 * runs in our SIMD kernel; everything else through `stock`.
 */
export function simdConv2d(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: { x: TensorInfo; filter: TensorInfo };
    backend: BackendWasm;
    attrs: Conv2DAttrs;
  }) => {
    const { backend, attrs } = args;
    const { x, filter } = args.inputs;
    const kernels = simdKernelsFor(backend);
    if (kernels == null || x.dtype !== 'float32' || filter.dtype !== 'float32') {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(attrs.dataFormat),
    );
    if (!fitsSimdConvolution(info) || info.inChannels !== 1) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const y = backend.makeOutput(info.outShape, 'float32');
    if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return y;
    kernels.conv2dForwardOneChannel(
      heapOffset(backend, x),
      heapOffset(backend, filter),
      heapOffset(backend, y),
      ...convolutionSizes(info),
      info.filterHeight,
      info.filterWidth,
    );
    return y;
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}
