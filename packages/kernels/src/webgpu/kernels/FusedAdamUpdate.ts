import { FusedAdamUpdate, type FusedAdamUpdateAttrs, type FusedAdamUpdateInputs } from '@lenet/ops';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { adamScalars, checkAdamInputs } from '../../adam-inputs';
import { bufferOf, GpuWork, makeOutput, pipelineFor } from '../gpu-work';

const INVOCATIONS = 64;

// tfjs's AdamOptimizer's float32 operations in its order, one invocation per element.
const ADAM_WGSL = `struct Adam {
  count: u32, beta1: f32, oneMinusBeta1: f32, beta2: f32,
  oneMinusBeta2: f32, correction1: f32, correction2: f32, epsilon: f32,
  minusRate: f32, unused1: f32, unused2: f32, unused3: f32,
}
@group(0) @binding(0) var<uniform> adam: Adam;
@group(0) @binding(1) var<storage, read> value: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> gradient: array<f32>;
@group(0) @binding(5) var<storage, read_write> newValue: array<f32>;
@group(0) @binding(6) var<storage, read_write> newM: array<f32>;
@group(0) @binding(7) var<storage, read_write> newV: array<f32>;

@compute @workgroup_size(${INVOCATIONS})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= adam.count) { return; }
  let g = gradient[i];
  let nextM = m[i] * adam.beta1 + g * adam.oneMinusBeta1;
  let nextV = v[i] * adam.beta2 + (g * g) * adam.oneMinusBeta2;
  let correctedM = nextM / adam.correction1;
  let correctedV = nextV / adam.correction2;
  newM[i] = nextM;
  newV[i] = nextV;
  newValue[i] = (correctedM / (sqrt(correctedV) + adam.epsilon)) * adam.minusRate + value[i];
}
`;

/** `FusedAdamUpdate` on the webgpu backend: one dispatch per variable. */
function adamUpdateWebGpu(args: {
  inputs: FusedAdamUpdateInputs;
  backend: WebGPUBackend;
  attrs: FusedAdamUpdateAttrs;
}): TensorInfo[] {
  const { backend, attrs } = args;
  const { value, m, v, gradient } = checkAdamInputs(args.inputs);
  const count = util.sizeFromShape(value.shape);
  const work = new GpuWork(backend);
  const settings = new ArrayBuffer(48);
  new Uint32Array(settings, 0, 1)[0] = count;
  new Float32Array(settings, 4, 8).set(adamScalars(attrs));
  const outputs = [value, m, v].map(() => makeOutput(backend, [...value.shape]));
  work.dispatch(
    pipelineFor(backend.device, 'fused-adam-update', () => ADAM_WGSL),
    [
      work.uniforms(new Uint8Array(settings)),
      ...[value, m, v, gradient].map((t) => bufferOf(backend, t)),
      ...outputs.map((o) => o.buffer),
    ],
    [Math.ceil(count / INVOCATIONS)],
  );
  work.submit();
  return outputs.map((o) => o.info);
}

export const webgpuFusedAdamUpdate: KernelConfig = {
  kernelName: FusedAdamUpdate,
  backendName: 'webgpu',
  kernelFunc: adamUpdateWebGpu as unknown as KernelFunc,
};
