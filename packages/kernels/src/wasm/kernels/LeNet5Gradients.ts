import { LeNet5Gradients, type LeNet5GradientsInputs, PARAM_NAMES, type ParamName } from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { LENET5 } from '../../lenet5/dimensions';
import {
  CHUNK,
  chunkGradientOffsets,
  PARAM_FLOATS,
  passChunk,
  prepareBackwardWeights,
  prepareForwardWeights,
  withPass,
} from '../lenet5/lenet5-pass';
import { floatsAfter, heapOffset, requireSimdKernels } from '../wasm-module';

/**
 * Loss and gradients of the reference LeNet-5 in one call (../lenet5/lenet5-pass.ts), in chunks of
 * {@link CHUNK} images whose gradients are summed into the first chunk's.
 * Returns [mean loss, ...gradients in PARAM_NAMES order].
 */
function lenet5Gradients(backend: BackendWasm, inputs: LeNet5GradientsInputs): TensorInfo[] {
  const kernels = requireSimdKernels(backend, LeNet5Gradients);
  const { x, labels } = inputs;
  const batch = x.shape[0]!;
  const imageFloats = LENET5.x.h * LENET5.x.w * LENET5.x.c;
  const loss = backend.makeOutput([], 'float32');
  const grads = Object.fromEntries(
    PARAM_NAMES.map((name) => [name, backend.makeOutput(inputs[name].shape, 'float32')]),
  ) as Record<ParamName, TensorInfo>;
  withPass(kernels, backend, inputs, Math.min(batch, CHUNK), (pass) => {
    const later = chunkGradientOffsets(pass.at);
    prepareForwardWeights(pass);
    prepareBackwardWeights(pass);
    let lossSum = 0;
    for (let start = 0; start < batch; start += CHUNK) {
      const n = Math.min(CHUNK, batch - start);
      const first = start === 0;
      const target = (name: ParamName) => (first ? heapOffset(backend, grads[name]) : later[name]);
      const images = floatsAfter(heapOffset(backend, x), start * imageFloats);
      lossSum += passChunk(
        pass,
        images,
        heapOffset(backend, labels) + start * Int32Array.BYTES_PER_ELEMENT,
        n,
        batch,
        target,
      );
      if (!first) {
        for (const name of PARAM_NAMES) {
          kernels.accumulate(later[name], heapOffset(backend, grads[name]), PARAM_FLOATS[name]);
        }
      }
    }
    pass.f32[heapOffset(backend, loss) / 4] = lossSum / batch;
  });
  return [loss, ...PARAM_NAMES.map((name) => grads[name])];
}

/** `LeNet5Gradients` on the wasm backend; registered only where our SIMD kernels run. */
export const wasmLeNet5Gradients: KernelConfig = {
  kernelName: LeNet5Gradients,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: { inputs: LeNet5GradientsInputs; backend: BackendWasm }) =>
    lenet5Gradients(backend, inputs)) as unknown as KernelFunc,
};
