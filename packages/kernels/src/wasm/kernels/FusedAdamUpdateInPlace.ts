import {
  FusedAdamUpdateInPlace,
  type FusedAdamUpdateInPlaceAttrs,
  type FusedAdamUpdateInPlaceInputs,
} from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { adamScalars, inPlaceAdamVariables } from '../../adam-inputs';
import { floatsAfter, heapOffset, requireSimdKernels } from '../wasm-module';

/**
 * `FusedAdamUpdateInPlace` on the wasm backend: the SIMD pass of `FusedAdamUpdate` over each
 * variable, writing its value and moments where they are.
 */
export const wasmFusedAdamUpdateInPlace: KernelConfig = {
  kernelName: FusedAdamUpdateInPlace,
  backendName: 'wasm',
  kernelFunc: (({
    inputs,
    backend,
    attrs,
  }: {
    inputs: FusedAdamUpdateInPlaceInputs;
    backend: BackendWasm;
    attrs: FusedAdamUpdateInPlaceAttrs;
  }): TensorInfo[] => {
    const kernels = requireSimdKernels(backend, FusedAdamUpdateInPlace);
    const scalars = adamScalars(attrs);
    const gradients = heapOffset(backend, inputs.gradients);
    for (const { value, m, v, gradientOffset, size } of inPlaceAdamVariables(inputs, attrs)) {
      const [at, atM, atV] = [value, m, v].map((t) => heapOffset(backend, t)) as [number, number, number];
      kernels.adamUpdate(
        at,
        atM,
        atV,
        floatsAfter(gradients, gradientOffset),
        at,
        atM,
        atV,
        size,
        ...scalars,
      );
    }
    return [];
  }) as unknown as KernelFunc,
};
