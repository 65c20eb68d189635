import { backend_util, type Conv2DAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { isStrideOneUnpadded } from '../conv-as-matmul';
import { convolutionSizes, heapOffset, withSimdPath } from '../wasm-module';

/**
 * Wraps the wasm backend's `Conv2D` (`stock`, XNNPACK): a float32 convolution of a one-channel
 * input, stride 1 and no padding (LeNet's C1, where XNNPACK reaches a quarter of its speed on C3)
 * runs in our SIMD kernel; everything else through `stock`.
 */
export function simdConv2d(stock: KernelConfig): KernelConfig {
  return withSimdPath<{ x: TensorInfo; filter: TensorInfo }, Conv2DAttrs>(stock, (call, kernels) => {
    const { backend, attrs } = call;
    const { x, filter } = call.inputs;
    if (x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
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
    if (!isStrideOneUnpadded(info) || info.inChannels !== 1) return undefined;
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
  });
}
