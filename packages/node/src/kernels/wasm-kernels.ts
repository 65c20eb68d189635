import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  Add,
  AvgPool,
  AvgPoolGrad,
  BatchMatMul,
  type backend_util,
  Conv2D,
  type Conv2DAttrs,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  Conv2DBackpropInput,
  getKernel,
  Identity,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  Sum,
  Tanh,
  type TensorInfo,
  Transpose,
  type TransposeAttrs,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { denseConvolutionFilterGradient, isDenseConvolution, isStrideOneUnpadded } from './conv-as-matmul';
import { conv2dBackpropFilterFlat, conv2dBackpropFilterInfo } from './conv2d-backprop-filter-flat';
import { runWasmKernel } from './run-wasm-kernel';
import { wasmAdamUpdate } from './simd/fused-adam-update';
import { wasmLenet5Gradients, wasmLenet5Logits } from './simd/fused-lenet5';
import { simdAvgPool } from './simd/simd-avg-pool';
import { simdAvgPoolGrad } from './simd/simd-avg-pool-grad';
import { simdBatchMatMul } from './simd/simd-batch-matmul';
import { simdBiasAdd } from './simd/simd-bias-add';
import { simdConv2d } from './simd/simd-conv2d';
import { simdConv2dFilterGradient } from './simd/simd-conv2d-filter-gradient';
import { simdSupported } from './simd/simd-module';
import { simdSum } from './simd/simd-sum';
import { simdTanh } from './simd/simd-tanh';
import { fastWasmConv2dBackpropInput } from './wasm-conv2d-backprop-input';

/**
 * Stride 1, NHWC: the filter gradient is itself a convolution, with the batch and channel axes
 * swapped. dW[r, c, i, o] = Σ_b,y,x x[b, y+r, x+c, i] · dy[b, y, x, o] is the Conv2D of
 * x' = x^T[i, h, w, b] with the filter dy' = dy^T[y, x, b, o], giving [i, r, c, o]; so
 * Transpose(x, [3,1,2,0]), Transpose(dy, [1,2,0,3]), Conv2D (same padding as the forward pass),
 * Transpose back with [1,2,0,3]. It runs in XNNPACK, about 100x faster than a JS loop.
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
      `Conv2DBackpropFilter (wasm, @lenet/node) needs float32 inputs, got x: ${x.dtype}, dy: ${dy.dtype}. ` +
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

const wasmConv2dBackpropFilter: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterWasm as unknown as KernelFunc,
};

/**
 * Wraps the wasm backend's `Identity` (`stock`, a copy of the whole tensor): the result shares the
 * input's data, as on the cpu backend (tfjs tensors are immutable). tfjs clones every tensor a
 * gradient needs later, so on a training step this saves copying every feature map once more.
 */
function sharedIdentity(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: object }) => {
    const { x } = args.inputs;
    if (x.dtype === 'string')
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/** Marks the kernel configs registered here, so registering twice changes nothing. */
const LENET_KERNEL = Symbol.for('@lenet/node wasm kernel');

/** Replaces the wasm backend's `kernelName` with `makeFaster(stock)`, once. */
function replaceStockKernel(kernelName: string, makeFaster: (stock: KernelConfig) => KernelConfig): void {
  const stock = getKernel(kernelName, 'wasm');
  if (stock == null || LENET_KERNEL in stock) return;
  unregisterKernel(kernelName, 'wasm');
  registerKernel(Object.assign(makeFaster(stock), { [LENET_KERNEL]: true }));
}

/**
 * Registers the kernels the tfjs wasm backend lacks for training a convnet, and faster versions of
 * stock ones that LeNet spends its time in:
 * - `Conv2DBackpropFilter` (missing, tfjs issue 8474): stride-1 NHWC convolutions (all of LeNet)
 *   run through the wasm backend's own Conv2D; other strides, paddings and NCHW fall back to a
 *   flat JS loop. A `Conv2DBackpropFilter` that tfjs itself provides is left in place.
 * - `Conv2DBackpropInput`: stride 1 NHWC as XNNPACK's Conv2D with a flipped filter, instead of the
 *   stock plain loop, which stays the fallback for everything else.
 * - Our SIMD kernels (`simd/`) in front of the stock Tanh, AvgPool and its gradient, Sum, BatchMatMul,
 *   Conv2D and Add, and a zero-copy Identity.
 * - Fused kernels that @lenet/ops runs where they are registered: `LeNet5Gradients`, `LeNet5Logits`
 *   (`simd/fused-lenet5.ts`) and `FusedAdamUpdate` (`simd/fused-adam-update.ts`), only where
 *   WebAssembly SIMD runs.
 * Idempotent. Call it before or after the wasm backend initialises.
 */
export function registerWasmTrainingKernels(): void {
  if (getKernel(Conv2DBackpropFilter, 'wasm') == null) registerKernel(wasmConv2dBackpropFilter);
  replaceStockKernel(Conv2DBackpropInput, fastWasmConv2dBackpropInput);
  replaceStockKernel(Tanh, simdTanh);
  replaceStockKernel(AvgPoolGrad, simdAvgPoolGrad);
  replaceStockKernel(AvgPool, simdAvgPool);
  replaceStockKernel(Sum, simdSum);
  replaceStockKernel(BatchMatMul, simdBatchMatMul);
  replaceStockKernel(Conv2D, simdConv2d);
  replaceStockKernel(Add, simdBiasAdd);
  replaceStockKernel(Identity, sharedIdentity);
  // Fused kernels that @lenet/ops uses where they exist: LeNet5.lossAndGradients (a whole
  // forward and backward pass), LeNet5's forward and predict outside a gradient tape, and
  // FusedAdamOptimizer (one call per variable).
  if (!simdSupported()) return;
  for (const fused of [wasmLenet5Gradients, wasmLenet5Logits, wasmAdamUpdate]) {
    if (getKernel(fused.kernelName, 'wasm') == null) registerKernel(fused);
  }
}
