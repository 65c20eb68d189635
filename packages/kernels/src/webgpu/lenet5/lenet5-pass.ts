// Runs the fused LeNet-5 stages (./stages.ts) on a webgpu backend: the parameters packed into one
// buffer, a temporary buffer for each map the stages bind, the stages dispatched in order.
import { PARAM_NAMES, PARAM_SHAPES, type ParamName } from '@lenet/ops';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { bufferOf, type GpuWork, pipelineFor } from '../gpu-work';
import {
  CONV_PARAM_FLOATS,
  MAP_FLOATS,
  type MapName,
  PARAM_FLOATS,
  PARAM_OFFSETS,
  type PassLayout,
  passLayout,
  passUniforms,
} from './layout';
import { type BufferName, INVOCATIONS, type Stage } from './stages';

/** WebGPU's default limit of workgroups along one dispatch dimension. */
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Floats of each buffer the stages may bind, for a batch, but for the inputs and outputs. */
function bufferFloats(name: BufferName, layout: PassLayout): number {
  if (name === 'params') return PARAM_FLOATS;
  if (name === 'partials') return layout.chunks * CONV_PARAM_FLOATS;
  // The mean loss follows the gradients, in a vec4 of its own.
  if (name === 'gradients') return PARAM_FLOATS + 4;
  return MAP_FLOATS[name as MapName] * layout.batch;
}

/**
 * Records `stages` on `x` [batch, 32, 32, 1] with the parameters in `inputs`; `given` are the buffers
 * the caller owns (inputs and outputs), every other buffer a stage binds is a temporary of `work`.
 * Returns every buffer by name. The caller adds its copies and submits `work`.
 */
export function recordStages(
  backend: WebGPUBackend,
  work: GpuWork,
  kernelName: string,
  stages: readonly Stage[],
  inputs: { x: TensorInfo } & Record<ParamName, TensorInfo>,
  given: Partial<Record<BufferName, GPUBuffer>>,
): Map<BufferName, GPUBuffer> {
  const layout = passLayout(inputs.x.shape[0]!);
  const buffers = new Map<BufferName, GPUBuffer>(Object.entries(given) as [BufferName, GPUBuffer][]);
  buffers.set('x', bufferOf(backend, inputs.x));
  const limit = backend.device.limits.maxStorageBufferBindingSize;
  for (const stage of stages) {
    for (const { buffer: name } of stage.bindings) {
      if (buffers.has(name)) continue;
      const bytes = bufferFloats(name, layout) * 4;
      if (bytes > limit) {
        const perImage = bytes / layout.batch;
        throw new RangeError(
          `${kernelName} on webgpu: a batch of ${layout.batch} needs a ${Math.ceil(bytes / 2 ** 20)} MiB buffer, over ` +
            `this GPU's ${Math.floor(limit / 2 ** 20)} MiB storage-buffer limit; use batches of at most ${Math.floor(limit / perImage)}.`,
        );
      }
      buffers.set(name, work.temporary(bytes, STORAGE()));
    }
  }
  const params = buffers.get('params');
  for (const name of params ? PARAM_NAMES : []) {
    const floats = PARAM_SHAPES[name].reduce((a, b) => a * b, 1);
    work.copy(bufferOf(backend, inputs[name]), 0, params!, PARAM_OFFSETS[name], floats);
  }
  const uniforms = work.uniforms(passUniforms(layout));
  for (const stage of stages) {
    const pipeline = pipelineFor(backend.device, stage.name, () => stage.wgsl);
    const workgroups = Math.ceil(stage.invocations(layout) / INVOCATIONS);
    const wide = Math.min(workgroups, MAX_WORKGROUPS_PER_DIMENSION);
    work.dispatch(
      pipeline,
      [stage.usesPass ? uniforms : undefined, ...stage.bindings.map((b) => buffers.get(b.buffer)!)],
      [wide, Math.ceil(workgroups / wide)],
    );
  }
  return buffers;
}
