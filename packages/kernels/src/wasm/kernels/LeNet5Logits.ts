import { LeNet5Logits, type LeNet5LogitsInputs } from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { LENET5 } from '../../lenet5/dimensions';
import { CHUNK, forwardChunk, prepareForwardWeights, withPass } from '../lenet5/lenet5-pass';
import { floatsAfter, heapOffset, requireSimdKernels } from '../wasm-module';

/** The reference LeNet-5's logits [n, classes], the forward pass alone, in chunks of {@link CHUNK} images. */
function lenet5Logits(backend: BackendWasm, inputs: LeNet5LogitsInputs): TensorInfo {
  const kernels = requireSimdKernels(backend, LeNet5Logits);
  const { x } = inputs;
  const batch = x.shape[0]!;
  const imageFloats = LENET5.x.h * LENET5.x.w * LENET5.x.c;
  const logits = backend.makeOutput([batch, LENET5.classes], 'float32');
  withPass(kernels, backend, inputs, Math.min(batch, CHUNK), (pass) => {
    prepareForwardWeights(pass);
    for (let start = 0; start < batch; start += CHUNK) {
      const n = Math.min(CHUNK, batch - start);
      forwardChunk(pass, floatsAfter(heapOffset(backend, x), start * imageFloats), n);
      const rows = floatsAfter(heapOffset(backend, logits), start * LENET5.classes);
      kernels.unpadRows(pass.at.logits, rows, n, LENET5.classesPadded, LENET5.classes);
    }
  });
  return logits;
}

/** `LeNet5Logits` on the wasm backend; registered only where our SIMD kernels run. */
export const wasmLeNet5Logits: KernelConfig = {
  kernelName: LeNet5Logits,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: { inputs: LeNet5LogitsInputs; backend: BackendWasm }) =>
    lenet5Logits(backend, inputs)) as unknown as KernelFunc,
};
