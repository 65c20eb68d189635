import { FusedAdamUpdate, type FusedAdamUpdateAttrs, type FusedAdamUpdateInputs } from '@lenet/ops';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { checkAdamInputs } from '../../adam-inputs';

const f32 = Math.fround;

/**
 * One Adam update in a single loop: exactly the float32 operations tfjs's AdamOptimizer runs as
 * about a dozen kernels per variable, in the same order, each result rounded to float32 as a
 * float32 tensor would hold it, so the fused and the stock optimizer stay bit-identical.
 */
function adamUpdateCpu(args: {
  inputs: FusedAdamUpdateInputs;
  backend: MathBackendCPU;
  attrs: FusedAdamUpdateAttrs;
}): TensorInfo[] {
  const { backend, attrs } = args;
  const { value, m, v, gradient } = checkAdamInputs(args.inputs);
  const read = (t: TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
  const [values, ms, vs, gs] = [value, m, v, gradient].map(read) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const n = values.length;
  const [newValues, newMs, newVs] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  // The scalars tfjs makes float32 tensors of.
  const beta1 = f32(attrs.beta1);
  const beta2 = f32(attrs.beta2);
  const oneMinusBeta1 = f32(1 - attrs.beta1);
  const oneMinusBeta2 = f32(1 - attrs.beta2);
  const correction1 = f32(attrs.oneMinusAccBeta1);
  const correction2 = f32(attrs.oneMinusAccBeta2);
  const epsilon = f32(attrs.epsilon);
  const minusRate = f32(-attrs.learningRate);
  for (let i = 0; i < n; i++) {
    const g = gs[i]!;
    const newM = f32(f32(ms[i]! * beta1) + f32(g * oneMinusBeta1));
    const newV = f32(f32(vs[i]! * beta2) + f32(f32(g * g) * oneMinusBeta2));
    const correctedM = f32(newM / correction1);
    const correctedV = f32(newV / correction2);
    newMs[i] = newM;
    newVs[i] = newV;
    newValues[i] = f32(
      f32(f32(correctedM / f32(f32(Math.sqrt(correctedV)) + epsilon)) * minusRate) + values[i]!,
    );
  }
  return [newValues, newMs, newVs].map((data) => backend.makeTensorInfo(value.shape, 'float32', data));
}

/** `FusedAdamUpdate` on the cpu backend. */
export const cpuFusedAdamUpdate: KernelConfig = {
  kernelName: FusedAdamUpdate,
  backendName: 'cpu',
  kernelFunc: adamUpdateCpu as unknown as KernelFunc,
};
