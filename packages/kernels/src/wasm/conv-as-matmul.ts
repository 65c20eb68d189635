import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BatchMatMul, type backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { runWasmKernel } from './run-wasm-kernel';

// A stride-1 NHWC convolution without padding whose filter covers the whole input (LeNet's C5:
// 5x5x16 in, 1x1x120 out) is a dense layer on the flattened input: y[b, o] = Σ_k x[b, k] · W[k, o]
// with k = (r, c, i). Its gradients are then plain matrix products, which XNNPACK's GEMM runs
// directly, where the general convolution paths spend most of their work on zero padding or transposes.

/** Whether `convInfo` is a stride-1, undilated NHWC convolution without padding (all of LeNet's). */
export function isStrideOneUnpadded(convInfo: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = convInfo.padInfo;
  return (
    convInfo.dataFormat === 'channelsLast' &&
    convInfo.strideHeight === 1 &&
    convInfo.strideWidth === 1 &&
    convInfo.dilationHeight === 1 &&
    convInfo.dilationWidth === 1 &&
    top + bottom + left + right === 0
  );
}

/** Whether `convInfo` describes such a convolution (1x1 output, no padding, stride 1, NHWC). */
export function isDenseConvolution(convInfo: backend_util.Conv2DInfo): boolean {
  return isStrideOneUnpadded(convInfo) && convInfo.outHeight === 1 && convInfo.outWidth === 1;
}

/** The same buffer seen with another shape (no copy, no new reference: never dispose it). */
function view(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** dx = dy · Wᵀ, `[n, O] x [kh·kw·I, O]ᵀ`, returned as `convInfo.inShape`. */
export function denseConvolutionInputGradient(
  dy: TensorInfo,
  filter: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo {
  const { batchSize, outChannels } = convInfo;
  const taps = convInfo.filterHeight * convInfo.filterWidth * convInfo.inChannels;
  const dx = runWasmKernel(BatchMatMul, {
    inputs: { a: view(dy, [batchSize, outChannels]), b: view(filter, [taps, outChannels]) },
    backend,
    attrs: { transposeA: false, transposeB: true },
  });
  return { ...dx, shape: [...convInfo.inShape] };
}

/** dW = xᵀ · dy, `[n, kh·kw·I]ᵀ x [n, O]`, returned as `convInfo.filterShape`. */
export function denseConvolutionFilterGradient(
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo {
  const { batchSize, outChannels } = convInfo;
  const taps = convInfo.filterHeight * convInfo.filterWidth * convInfo.inChannels;
  const dW = runWasmKernel(BatchMatMul, {
    inputs: { a: view(x, [batchSize, taps]), b: view(dy, [batchSize, outChannels]) },
    backend,
    attrs: { transposeA: true, transposeB: false },
  });
  return { ...dW, shape: [...convInfo.filterShape] };
}
