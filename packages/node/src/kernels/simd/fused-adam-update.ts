import { ADAM_UPDATE_KERNEL, type AdamUpdateAttrs } from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapOffset, simdKernelsFor } from './simd-module';

interface AdamUpdateInputs {
  value: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
  gradient: TensorInfo;
}

/**
 * `FusedAdamUpdate` ({@link ADAM_UPDATE_KERNEL}) on the wasm backend: one SIMD pass over a
 * variable, its moments and its gradient, bit-identical to tfjs's Adam. Registered only where
 * WebAssembly SIMD runs.
 */
export const wasmAdamUpdate: KernelConfig = {
  kernelName: ADAM_UPDATE_KERNEL,
  backendName: 'wasm',
  kernelFunc: (({
    inputs,
    backend,
    attrs,
  }: {
    inputs: AdamUpdateInputs;
    backend: BackendWasm;
    attrs: AdamUpdateAttrs;
  }) => {
    const kernels = simdKernelsFor(backend);
    if (kernels == null) {
      throw new Error(
        `${ADAM_UPDATE_KERNEL} needs the wasm backend's own memory, which a threaded wasm build does not export. ` +
          'Use the single-threaded wasm backend (the default under Node).',
      );
    }
    const { value, m, v, gradient } = inputs;
    for (const t of [m, v, gradient]) {
      if (t.dtype !== 'float32' || !util.arraysEqual(t.shape, value.shape)) {
        throw new Error(
          `${ADAM_UPDATE_KERNEL}: value, m, v and gradient must be float32 of one shape [${value.shape}].`,
        );
      }
    }
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
      attrs.beta1,
      1 - attrs.beta1,
      attrs.beta2,
      1 - attrs.beta2,
      attrs.oneMinusAccBeta1,
      attrs.oneMinusAccBeta2,
      attrs.epsilon,
      -attrs.learningRate,
    );
    return outputs;
  }) as unknown as KernelFunc,
};
