import { LeNet5Logits, type LeNet5LogitsInputs } from '@lenet/ops';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { LENET5 } from '../../lenet5/dimensions';
import { GpuWork, makeOutput } from '../gpu-work';
import { recordStages } from '../lenet5/lenet5-pass';
import { LOGITS_STAGES } from '../lenet5/stages';

/** The reference LeNet-5's logits in 5 dispatches over the batch (../lenet5/stages.ts). */
function lenet5Logits(backend: WebGPUBackend, inputs: LeNet5LogitsInputs): TensorInfo {
  const work = new GpuWork(backend);
  const logits = makeOutput(backend, [inputs.x.shape[0]!, LENET5.classes]);
  recordStages(backend, work, LeNet5Logits, LOGITS_STAGES, inputs, { logits: logits.buffer });
  work.submit();
  return logits.info;
}

/** `LeNet5Logits` on the webgpu backend. */
export const webgpuLeNet5Logits: KernelConfig = {
  kernelName: LeNet5Logits,
  backendName: 'webgpu',
  kernelFunc: (({ inputs, backend }: { inputs: LeNet5LogitsInputs; backend: WebGPUBackend }) =>
    lenet5Logits(backend, inputs)) as unknown as KernelFunc,
};
