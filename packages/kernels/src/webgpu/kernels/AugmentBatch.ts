import { AugmentBatch, type AugmentBatchAttrs, type AugmentBatchInputs } from '@lenet/ops';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

const SIDE = 32;
const TRANSFORM_FLOATS = 8;
const WORKGROUP_SIZE = 64;

/**
 * One thread per output pixel: it finds the pixel's source in its image of the split, as the kernel
 * contract (AugmentBatchInputs in @lenet/ops) orders the float32 arithmetic, and samples it bilinearly.
 * A program of tfjs-backend-webgpu's own kind, so tfjs makes the output, the uniforms (shapes, size, the
 * background) and the pipeline cache, and records the dispatch with its own.
 */
class AugmentBatchProgram implements WebGPUProgram {
  variableNames = ['images', 'indices', 'transforms'];
  outputShape: number[];
  shaderKey = 'lenetAugmentBatch';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  size = true;
  uniforms = 'background : f32,';

  constructor(count: number) {
    this.outputShape = [count, SIDE, SIDE, 1];
    // Flat: one invocation per output value (tfjs spreads the workgroups over more dimensions past the limit).
    this.dispatchLayout = { x: [0, 1, 2, 3] };
    this.dispatch = [Math.ceil((count * SIDE * SIDE) / WORKGROUP_SIZE), 1, 1];
  }

  getUserCode(): string {
    return `
      fn sourcePixel(first : i32, x : i32, y : i32) -> f32 {
        if (x < 0 || x >= ${SIDE} || y < 0 || y >= ${SIDE}) {
          return uniforms.background;
        }
        return images[first + y * ${SIDE} + x];
      }

      fn main(index : i32) {
        if (index >= uniforms.size) {
          return;
        }
        let n = index / ${SIDE * SIDE};
        let pixel = index - n * ${SIDE * SIDE};
        let y = pixel / ${SIDE};
        let x = pixel - y * ${SIDE};
        let image = indices[n];
        if (image < 0 || image >= uniforms.imagesShape.x) {
          setOutputAtIndex(index, uniforms.background);
          return;
        }
        let t = n * ${TRANSFORM_FLOATS};
        let aH = transforms[t];
        let bH = transforms[t + 1];
        let txH = transforms[t + 2];
        let tyH = transforms[t + 3];
        let aL = transforms[t + 4];
        let bL = transforms[t + 5];
        let txL = transforms[t + 6];
        let tyL = transforms[t + 7];
        let c = ${(SIDE - 1) / 2};
        let u = f32(x) - c;
        let v = f32(y) - c;
        // The high sums are exact in float32; the low ones are small. See AugmentBatchInputs.
        let highX = aH * u + (bH * v + (txH + c));
        let lowX = aL * u + (bL * v + txL);
        let highY = -bH * u + (aH * v + (tyH + c));
        let lowY = -bL * u + (aL * v + tyL);
        let x0 = floor(highX + lowX);
        let y0 = floor(highY + lowY);
        let fx = (highX - x0) + lowX;
        let fy = (highY - y0) + lowY;
        let left = i32(x0);
        let top = i32(y0);
        let first = image * ${SIDE * SIDE};
        let p00 = sourcePixel(first, left, top);
        let p01 = sourcePixel(first, left + 1, top);
        let p10 = sourcePixel(first, left, top + 1);
        let p11 = sourcePixel(first, left + 1, top + 1);
        let upper = p00 + (p01 - p00) * fx;
        let lower = p10 + (p11 - p10) * fx;
        setOutputAtIndex(index, upper + (lower - upper) * fy);
      }
    `;
  }
}

/**
 * `AugmentBatch` on webgpu: gathers a batch from the split on the device and distorts it in one dispatch,
 * so the CPU never touches the pixels of a training batch.
 */
function augmentBatchWebGpu(args: {
  inputs: AugmentBatchInputs;
  backend: WebGPUBackend;
  attrs: AugmentBatchAttrs;
}): TensorInfo {
  const { images, indices, transforms } = args.inputs;
  const program = new AugmentBatchProgram(indices.shape[0]!);
  return args.backend.runWebGPUProgram(program, [images, indices, transforms], 'float32', [
    { type: 'float32', data: [args.attrs.background] },
  ]);
}

/** `AugmentBatch` on the webgpu backend. */
export const webgpuAugmentBatch: KernelConfig = {
  kernelName: AugmentBatch,
  backendName: 'webgpu',
  kernelFunc: augmentBatchWebGpu as unknown as KernelFunc,
};
