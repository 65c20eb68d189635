import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { isStrideOneUnpadded } from './conv-as-matmul';
import type { LenetWasmExports } from './wasm-exports.generated';
import { convolutionSizes, floatsAfter, heapOffset, simdKernelsFor, withScratch } from './wasm-module';

/**
 * The filter gradient of a convolution {@link isStrideOneUnpadded} accepts, in one pass of our
 * SIMD kernel over x and dy (no transposes, no im2col). Undefined where the SIMD kernels cannot
 * run on this backend.
 */
export function simdConv2dFilterGradient(
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo | undefined {
  const kernels: LenetWasmExports | undefined = simdKernelsFor(backend);
  if (kernels == null) return undefined;
  const { batchSize, inChannels, outHeight, outWidth, outChannels } = convInfo;
  const dw = backend.makeOutput(convInfo.filterShape, 'float32');
  const pixels = batchSize * outHeight * outWidth;
  // The kernel reads dy eight channels at a time: rows padded with zeros to a multiple of 8.
  const paddedChannels = Math.ceil(outChannels / 8) * 8;
  const rowsOfW = convInfo.filterHeight * convInfo.filterWidth * inChannels;
  const sumsFloats = Math.ceil(rowsOfW / 4) * 4 * paddedChannels;
  withScratch(backend, sumsFloats + pixels * paddedChannels, (scratch) => {
    const dyPadded = floatsAfter(scratch, sumsFloats);
    kernels.padRows(heapOffset(backend, dy), dyPadded, pixels, outChannels, paddedChannels);
    kernels.conv2dFilterGradient(
      heapOffset(backend, x),
      dyPadded,
      heapOffset(backend, dw),
      scratch,
      ...convolutionSizes(convInfo),
      paddedChannels,
      convInfo.filterWidth,
      rowsOfW,
    );
  });
  return dw;
}
