import {
  FusedAdamUpdateInPlace,
  type FusedAdamUpdateInPlaceAttrs,
  type FusedAdamUpdateInPlaceInputs,
} from '@lenet/ops';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { inPlaceAdamVariables } from '../../adam-inputs';
import { adamLoop } from './FusedAdamUpdate';

/** `FusedAdamUpdateInPlace` on the cpu backend: {@link adamLoop} over each variable's own arrays. */
export const cpuFusedAdamUpdateInPlace: KernelConfig = {
  kernelName: FusedAdamUpdateInPlace,
  backendName: 'cpu',
  kernelFunc: (({
    inputs,
    backend,
    attrs,
  }: {
    inputs: FusedAdamUpdateInPlaceInputs;
    backend: MathBackendCPU;
    attrs: FusedAdamUpdateInPlaceAttrs;
  }): TensorInfo[] => {
    const read = (t: TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
    const gradients = read(inputs.gradients);
    for (const { value, m, v, gradientOffset } of inPlaceAdamVariables(inputs, attrs)) {
      const arrays: [Float32Array, Float32Array, Float32Array] = [read(value), read(m), read(v)];
      adamLoop(arrays, gradients, gradientOffset, arrays, attrs);
    }
    return [];
  }) as unknown as KernelFunc,
};
