import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type backend_util,
  Conv2D,
  type Conv2DAttrs,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  Transpose,
  type TransposeAttrs,
} from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterFlat, conv2dBackpropFilterInfo } from '../../conv2d-backprop-filter-flat';
import { denseConvolutionFilterGradient, isDenseConvolution, isStrideOneUnpadded } from '../conv-as-matmul';
import { runWasmKernel } from '../run-wasm-kernel';
import { simdConv2dFilterGradient } from '../simd-conv2d-filter-gradient';

/**
 * Stride 1, NHWC: the filter gradient is itself a convolution, with the batch and channel axes
 * swapped. dW[r, c, i, o] = Σ_b,y,x x[b, y+r, x+c, i] · dy[b, y, x, o] is the Conv2D of
 * x' = x^T[i, h, w, b] with the filter dy' = dy^T[y, x, b, o], giving [i, r, c, o]; so
 * Transpose(x, [3,1,2,0]), Transpose(dy, [1,2,0,3]), Conv2D (same padding as the forward pass),
 * Transpose back with [1,2,0,3]. It runs in XNNPACK instead of a JS loop.
 */
function conv2dBackpropFilterByConv2d(
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo {
  const { top, bottom, left, right } = convInfo.padInfo;
  const intermediates: TensorInfo[] = [];
  try {
    const xT = runWasmKernel(Transpose, {
      inputs: { x },
      backend,
      attrs: { perm: [3, 1, 2, 0] } satisfies TransposeAttrs,
    });
    intermediates.push(xT);
    const dyT = runWasmKernel(Transpose, {
      inputs: { x: dy },
      backend,
      attrs: { perm: [1, 2, 0, 3] } satisfies TransposeAttrs,
    });
    intermediates.push(dyT);
    const conv2dAttrs: Conv2DAttrs = {
      strides: 1,
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: 1,
    };
    const dWT = runWasmKernel(Conv2D, { inputs: { x: xT, filter: dyT }, backend, attrs: conv2dAttrs });
    intermediates.push(dWT);
    return runWasmKernel(Transpose, {
      inputs: { x: dWT },
      backend,
      attrs: { perm: [1, 2, 0, 3] } satisfies TransposeAttrs,
    });
  } finally {
    for (const info of intermediates) backend.disposeData(info.dataId);
  }
}

/** Any other stride, padding or layout: the flat JS loop, reading the tensors in the wasm heap. */
function conv2dBackpropFilterByLoop(
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo {
  const dW = conv2dBackpropFilterFlat(
    backend.typedArrayFromHeap(x),
    backend.typedArrayFromHeap(dy),
    convInfo,
  );
  return backend.makeOutput(convInfo.filterShape, 'float32', undefined, dW);
}

function conv2dBackpropFilterWasm(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(
      `Conv2DBackpropFilter (wasm, @lenet/kernels) needs float32 inputs, got x: ${x.dtype}, dy: ${dy.dtype}. ` +
        'Cast them with tf.cast(t, "float32").',
    );
  }
  const convInfo = conv2dBackpropFilterInfo(inputs, attrs);
  const convolutionPathFits =
    convInfo.strideHeight === 1 && convInfo.strideWidth === 1 && convInfo.dataFormat === 'channelsLast';
  if (isStrideOneUnpadded(convInfo)) {
    const dW = simdConv2dFilterGradient(x, dy, convInfo, backend);
    if (dW != null) return dW;
  }
  if (isDenseConvolution(convInfo)) return denseConvolutionFilterGradient(x, dy, convInfo, backend);
  return convolutionPathFits
    ? conv2dBackpropFilterByConv2d(x, dy, convInfo, backend)
    : conv2dBackpropFilterByLoop(x, dy, convInfo, backend);
}

/**
 * `Conv2DBackpropFilter`, which the tfjs wasm backend lacks (tfjs issue 8474): our SIMD kernel for
 * stride-1 unpadded NHWC convolutions (all of LeNet) where it runs, the wasm backend's own Conv2D
 * for other stride-1 NHWC ones, a flat JS loop for the rest.
 */
export const wasmConv2dBackpropFilter: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterWasm as unknown as KernelFunc,
};
