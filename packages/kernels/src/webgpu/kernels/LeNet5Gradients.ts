import { LeNet5Gradients, type LeNet5GradientsInputs, PARAM_NAMES, PARAM_SHAPES } from '@lenet/ops';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { bufferOf, GpuWork, makeOutput } from '../gpu-work';
import { PARAM_FLOATS, PARAM_OFFSETS } from '../lenet5/layout';
import { recordStages } from '../lenet5/lenet5-pass';
import { GRADIENT_STAGES } from '../lenet5/stages';

/**
 * Loss and gradients of the reference LeNet-5 in 11 dispatches over the batch (../lenet5/stages.ts),
 * copied out of their packed buffer into one tensor each.
 * Returns [mean loss, ...gradients in PARAM_NAMES order].
 */
function lenet5Gradients(backend: WebGPUBackend, inputs: LeNet5GradientsInputs): TensorInfo[] {
  const work = new GpuWork(backend);
  const buffers = recordStages(backend, work, LeNet5Gradients, GRADIENT_STAGES, inputs, {
    labels: bufferOf(backend, inputs.labels),
  });
  const packed = buffers.get('gradients')!;
  const loss = makeOutput(backend, []);
  work.copy(packed, PARAM_FLOATS, loss.buffer, 0, 1);
  const gradients = PARAM_NAMES.map((name) => {
    const shape = [...PARAM_SHAPES[name]];
    const gradient = makeOutput(backend, shape);
    work.copy(
      packed,
      PARAM_OFFSETS[name],
      gradient.buffer,
      0,
      shape.reduce((a, b) => a * b, 1),
    );
    return gradient.info;
  });
  work.submit();
  return [loss.info, ...gradients];
}

/** `LeNet5Gradients` on the webgpu backend. */
export const webgpuLeNet5Gradients: KernelConfig = {
  kernelName: LeNet5Gradients,
  backendName: 'webgpu',
  kernelFunc: (({ inputs, backend }: { inputs: LeNet5GradientsInputs; backend: WebGPUBackend }) =>
    lenet5Gradients(backend, inputs)) as unknown as KernelFunc,
};
