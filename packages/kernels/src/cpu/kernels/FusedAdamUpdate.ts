import { FusedAdamUpdate, type FusedAdamUpdateAttrs, type FusedAdamUpdateInputs } from '@lenet/ops';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { checkAdamInputs } from '../../adam-inputs';

const f32 = Math.fround;

/**
 * Adam over values[i], ms[i], vs[i] with gradient gs[gOffset + i], into the `to` arrays (which may be
 * the inputs): exactly the float32 operations tfjs's AdamOptimizer runs as about a dozen kernels per
 * variable, in the same order, each result rounded to float32 as a float32 tensor would hold it, so
 * the fused and the stock optimizer stay bit-identical.
 */
export function adamLoop(
  [values, ms, vs]: [Float32Array, Float32Array, Float32Array],
  gs: Float32Array,
  gOffset: number,
  [toValues, toMs, toVs]: [Float32Array, Float32Array, Float32Array],
  attrs: FusedAdamUpdateAttrs,
): void {
  // The scalars tfjs makes float32 tensors of.
  const beta1 = f32(attrs.beta1);
  const beta2 = f32(attrs.beta2);
  const oneMinusBeta1 = f32(1 - attrs.beta1);
  const oneMinusBeta2 = f32(1 - attrs.beta2);
  const correction1 = f32(attrs.oneMinusAccBeta1);
  const correction2 = f32(attrs.oneMinusAccBeta2);
  const epsilon = f32(attrs.epsilon);
  const minusRate = f32(-attrs.learningRate);
  for (let i = 0; i < values.length; i++) {
    const g = gs[gOffset + i]!;
    const newM = f32(f32(ms[i]! * beta1) + f32(g * oneMinusBeta1));
    const newV = f32(f32(vs[i]! * beta2) + f32(f32(g * g) * oneMinusBeta2));
    const correctedM = f32(newM / correction1);
    const correctedV = f32(newV / correction2);
    toMs[i] = newM;
    toVs[i] = newV;
    toValues[i] = f32(
      f32(f32(correctedM / f32(f32(Math.sqrt(correctedV)) + epsilon)) * minusRate) + values[i]!,
    );
  }
}

/** One Adam update in a single loop ({@link adamLoop}), into new tensors. */
function adamUpdateCpu(args: {
  inputs: FusedAdamUpdateInputs;
  backend: MathBackendCPU;
  attrs: FusedAdamUpdateAttrs;
}): TensorInfo[] {
  const { backend, attrs } = args;
  const { value, m, v, gradient } = checkAdamInputs(args.inputs);
  const read = (t: TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
  const n = util.sizeFromShape(value.shape);
  const outputs: [Float32Array, Float32Array, Float32Array] = [
    new Float32Array(n),
    new Float32Array(n),
    new Float32Array(n),
  ];
  adamLoop([read(value), read(m), read(v)], read(gradient), 0, outputs, attrs);
  return outputs.map((data) => backend.makeTensorInfo(value.shape, 'float32', data));
}

/** `FusedAdamUpdate` on the cpu backend. */
export const cpuFusedAdamUpdate: KernelConfig = {
  kernelName: FusedAdamUpdate,
  backendName: 'cpu',
  kernelFunc: adamUpdateCpu as unknown as KernelFunc,
};
