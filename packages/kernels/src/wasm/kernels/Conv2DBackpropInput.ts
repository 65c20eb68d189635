import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  Conv2D,
  type Conv2DAttrs,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { denseConvolutionInputGradient, isDenseConvolution, isStrideOneUnpadded } from '../conv-as-matmul';
import { runWasmKernel } from '../run-wasm-kernel';
import { simdConv2dInputGradient } from '../simd-conv2d-input-gradient';

/**
 * The filter of the "full" convolution that gives a stride-1 convolution's input gradient:
 * rotated 180° in space, with in and out channels swapped. HWIO `[kh, kw, in, out]` becomes
 * `[kh, kw, out, in]` with `flipped[r, c, o, i] = filter[kh-1-r, kw-1-c, i, o]`.
 * The filter is small (at most 48k values in LeNet), so one JS pass costs far less than the
 * convolution it enables.
 */
export function flipFilterForInputGradient(
  filter: Float32Array,
  [kh, kw, inChannels, outChannels]: readonly [number, number, number, number],
): Float32Array {
  const flipped = new Float32Array(filter.length);
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      const source = ((kh - 1 - r) * kw + (kw - 1 - c)) * inChannels * outChannels;
      const target = (r * kw + c) * outChannels * inChannels;
      for (let i = 0; i < inChannels; i++) {
        for (let o = 0; o < outChannels; o++) {
          flipped[target + o * inChannels + i] = filter[source + i * outChannels + o]!;
        }
      }
    }
  }
  return flipped;
}

/**
 * Stride 1, NHWC: dx[b, y, x, i] = Σ_r,c,o dy[b, y+top-r, x+left-c, o] · W[r, c, i, o], which is the
 * ordinary convolution of dy (padded by kh-1-top above, kh-1-bottom below, likewise left/right)
 * with the flipped filter. That convolution runs in the wasm backend's XNNPACK Conv2D, which is
 * vectorised, where the stock Conv2DBackpropInput is a plain C loop.
 */
function conv2dBackpropInputByConv2d(
  dy: TensorInfo,
  filter: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo {
  const { top, bottom, left, right } = convInfo.padInfo;
  const { filterHeight: kh, filterWidth: kw } = convInfo;
  const flipped = backend.makeOutput(
    [kh, kw, convInfo.outChannels, convInfo.inChannels],
    'float32',
    undefined,
    flipFilterForInputGradient(
      backend.typedArrayFromHeap(filter) as Float32Array,
      filter.shape as [number, number, number, number],
    ),
  );
  try {
    const attrs: Conv2DAttrs = {
      strides: 1,
      pad: [
        [0, 0],
        [kh - 1 - top, kh - 1 - bottom],
        [kw - 1 - left, kw - 1 - right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: 1,
    };
    return runWasmKernel(Conv2D, { inputs: { x: dy, filter: flipped }, backend, attrs });
  } finally {
    backend.disposeData(flipped.dataId);
  }
}

/**
 * Wraps the wasm backend's own `Conv2DBackpropInput` (`stock`): stride 1 and NHWC with padding
 * smaller than the filter (all of LeNet) goes through XNNPACK, as a matrix product when the
 * convolution is a dense layer (C5), else as a Conv2D; everything else through `stock`, which this
 * config also sets up.
 */
export function fastWasmConv2dBackpropInput(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: Conv2DBackpropInputInputs;
    backend: BackendWasm;
    attrs: Conv2DBackpropInputAttrs;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const convInfo = backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(attrs.dataFormat),
    );
    const { padInfo, filterHeight, filterWidth } = convInfo;
    const fits =
      convInfo.strideHeight === 1 &&
      convInfo.strideWidth === 1 &&
      convInfo.dataFormat === 'channelsLast' &&
      dy.dtype === 'float32' &&
      filter.dtype === 'float32' &&
      // The full convolution's padding, filter size - 1 - padding, must not be negative.
      Math.max(padInfo.top, padInfo.bottom) < filterHeight &&
      Math.max(padInfo.left, padInfo.right) < filterWidth;
    if (!fits) return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    if (isStrideOneUnpadded(convInfo)) {
      const dx = simdConv2dInputGradient(dy, filter, convInfo, backend);
      if (dx != null) return dx;
    }
    if (isDenseConvolution(convInfo)) return denseConvolutionInputGradient(dy, filter, convInfo, backend);
    return conv2dBackpropInputByConv2d(dy, filter, convInfo, backend);
  };
  return {
    kernelName: Conv2DBackpropInput,
    backendName: 'wasm',
    // The stock kernel binds its wasm function in its setup; the fallback needs that binding.
    setupFunc: stock.setupFunc,
    disposeFunc: stock.disposeFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
