import { FusedAdamUpdate, type FusedAdamUpdateAttrs, type FusedAdamUpdateInputs } from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { adamScalars, checkAdamInputs } from '../../adam-inputs';
import { heapOffset, requireSimdKernels } from '../wasm-module';

/**
 * `FusedAdamUpdate` on the wasm backend: one SIMD pass over a variable, its moments and its
 * gradient, bit-identical to tfjs's Adam.
 */
export const wasmFusedAdamUpdate: KernelConfig = {
  kernelName: FusedAdamUpdate,
  backendName: 'wasm',
  kernelFunc: (({
    inputs,
    backend,
    attrs,
  }: {
    inputs: FusedAdamUpdateInputs;
    backend: BackendWasm;
    attrs: FusedAdamUpdateAttrs;
  }): TensorInfo[] => {
    const kernels = requireSimdKernels(backend, FusedAdamUpdate);
    const { value, m, v, gradient } = checkAdamInputs(inputs);
    const outputs = [value, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
    const [newValue, newM, newV] = outputs.map((t) => heapOffset(backend, t)) as [number, number, number];
    kernels.adamUpdate(
      heapOffset(backend, value),
      heapOffset(backend, m),
      heapOffset(backend, v),
      heapOffset(backend, gradient),
      newValue,
      newM,
      newV,
      util.sizeFromShape(value.shape),
      ...adamScalars(attrs),
    );
    return outputs;
  }) as unknown as KernelFunc,
};
