import { type BatchMatMulAttrs, type KernelConfig, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { floatsAfter, heapOffset, TILE_FLOATS, withScratch, withSimdPath } from '../wasm-module';

/**
 * Wraps the wasm backend's `BatchMatMul` (`stock`, XNNPACK): a single float32 matrix product
 * (batch dimensions all 1), either side transposed or not, as in LeNet's dense layers and their
 * gradients, runs in our SIMD kernel, which reads a transposed `a` in place and needs no operator
 * setup per call; batched products go through `stock`.
 */
export function simdBatchMatMul(stock: KernelConfig): KernelConfig {
  return withSimdPath<{ a: TensorInfo; b: TensorInfo }, BatchMatMulAttrs>(stock, (call, kernels) => {
    const { backend, attrs } = call;
    const { a, b } = call.inputs;
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const single = util.sizeFromShape(batchA) === 1 && util.sizeFromShape(batchB) === 1;
    if (!single || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2) return undefined;
    const [aRows, aCols] = a.shape.slice(-2) as [number, number];
    const [bRows, bCols] = b.shape.slice(-2) as [number, number];
    const rows = attrs.transposeA ? aCols : aRows;
    const depth = attrs.transposeA ? aRows : aCols;
    const cols = attrs.transposeB ? bRows : bCols;
    if ((attrs.transposeB ? bCols : bRows) !== depth) return undefined; // the stock kernel says what is wrong
    const batchShape = batchA.length >= batchB.length ? batchA : batchB;
    const out = backend.makeOutput([...batchShape, rows, cols], 'float32');
    if (rows * cols === 0) return out;
    if (depth === 0) {
      (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
      return out;
    }
    // b as [depth, paddedCols], zero-padded to the kernel's 8-wide tiles; c likewise unless it fits.
    const paddedCols = Math.ceil(cols / 8) * 8;
    const bFloats = depth * paddedCols;
    const cFloats = paddedCols === cols ? 0 : rows * paddedCols;
    withScratch(backend, TILE_FLOATS + bFloats + cFloats, (tile) => {
      const bPadded = floatsAfter(tile, TILE_FLOATS);
      const bOffset = heapOffset(backend, b);
      if (attrs.transposeB) kernels.transposePadded(bOffset, bPadded, cols, depth, paddedCols);
      else kernels.padRows(bOffset, bPadded, depth, cols, paddedCols);
      const c = cFloats === 0 ? heapOffset(backend, out) : floatsAfter(bPadded, bFloats);
      const [rowStride, colStride] = attrs.transposeA ? [1, rows] : [depth, 1];
      kernels.matmul(heapOffset(backend, a), rowStride, colStride, bPadded, c, rows, depth, paddedCols, tile);
      if (cFloats !== 0) kernels.unpadRows(c, heapOffset(backend, out), rows, paddedCols, cols);
    });
    return out;
  });
}
