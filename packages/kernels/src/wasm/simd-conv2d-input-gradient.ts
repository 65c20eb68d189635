import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { isStrideOneUnpadded } from './conv-as-matmul';
import { convolutionSizes, floatsAfter, heapOffset, simdKernelsFor, withScratch } from './wasm-module';

/**
 * The input gradient of a convolution {@link isStrideOneUnpadded} accepts, scattered by our SIMD
 * kernel straight from dy (no padded copy of dy, no flipped filter, no multiplications by zero).
 * Undefined where the SIMD kernels cannot run on this backend.
 */
export function simdConv2dInputGradient(
  dy: TensorInfo,
  filter: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo | undefined {
  const kernels = simdKernelsFor(backend);
  if (kernels == null) return undefined;
  const { batchSize, inHeight, inWidth, inChannels, outChannels } = convInfo;
  const { filterHeight, filterWidth } = convInfo;
  // One filter row's values, side by side in dx, padded to the kernel's 8-wide tiles.
  const paddedRun = Math.ceil((filterWidth * inChannels) / 8) * 8;
  const dxSize = batchSize * inHeight * inWidth * inChannels;
  const dx = backend.makeOutput(convInfo.inShape as number[], 'float32');
  if (dxSize === 0) return dx;
  const filterFloats = filterHeight * outChannels * paddedRun;
  withScratch(backend, filterFloats + dxSize + paddedRun, (rows) => {
    const dxScratch = floatsAfter(rows, filterFloats);
    kernels.filterRowsByOutput(
      heapOffset(backend, filter),
      rows,
      filterHeight,
      filterWidth,
      inChannels,
      outChannels,
      paddedRun,
    );
    kernels.conv2dInputGradient(
      heapOffset(backend, dy),
      rows,
      dxScratch,
      ...convolutionSizes(convInfo),
      filterHeight,
      paddedRun,
    );
    const heap = backend.typedArrayFromHeap(dx) as Float32Array;
    heap.set(new Float32Array(heap.buffer, dxScratch, dxSize));
  });
  return dx;
}
