// Running our own WGSL on tfjs-backend-webgpu's device, beside its kernels, through its public API.
//
// A fused kernel binds tensors' buffers and temporary buffers to pipelines of its own, so that one
// dispatch can read and write several tensors (tfjs's programs have one output each). Ordering: tfjs
// records its kernels (and uploads of CPU-held tensors) into a command encoder it submits later, so
// `submit` first submits what tfjs has recorded, then ours: the queue runs them in that order, and
// anything tfjs records afterwards runs after ours. Temporary buffers come from tfjs's buffer pool and
// go back to it once submitted, where the next user of a pooled buffer is again ordered after us; so
// tf.memory() counts them while a kernel runs and is unchanged after it.
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

/** The GPU buffer of a tensor's data; a tensor tfjs holds on the CPU is uploaded first. */
export function bufferOf(backend: WebGPUBackend, tensor: TensorInfo): GPUBuffer {
  backend.uploadToGPU(tensor.dataId);
  const resource = backend.tensorMap.get(tensor.dataId).resource;
  if (!(resource instanceof GPUBuffer)) {
    throw new Error(
      `A fused webgpu kernel needs its inputs in GPU buffers; a [${tensor.shape}] tensor is a texture.`,
    );
  }
  return resource;
}

/** A new tensor for a kernel to return, with its GPU buffer to write. */
export function makeOutput(
  backend: WebGPUBackend,
  shape: number[],
  dtype: DataType = 'float32',
): { info: TensorInfo; buffer: GPUBuffer } {
  const info = backend.makeTensorInfo(shape, dtype);
  return { info, buffer: bufferOf(backend, info) };
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
/** Why a pipeline of ours failed to build, by key: WebGPU reports it asynchronously, never by throwing. */
const failures = new Map<string, string>();

/**
 * The compute pipeline of `wgsl()` under `key`, compiled once per device. A shader that fails to
 * build makes every later call throw, with WebGPU's message (the first call's results are garbage:
 * WebGPU reports the failure only asynchronously).
 */
export function pipelineFor(device: GPUDevice, key: string, wgsl: () => string): GPUComputePipeline {
  const failure = failures.get(key);
  if (failure !== undefined)
    throw new Error(`The WGSL pipeline '${key}' of @lenet/kernels failed to build: ${failure}`);
  let cache = pipelines.get(device);
  if (cache == null) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  let pipeline = cache.get(key);
  if (pipeline == null) {
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: key, code: wgsl() });
    pipeline = device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    void device.popErrorScope().then((error) => {
      if (error != null) failures.set(key, error.message);
    });
    cache.set(key, pipeline);
  }
  return pipeline;
}

/** Why our pipelines failed to build, for tests: every key whose validation failed, with the message. */
export function pipelineFailures(): ReadonlyMap<string, string> {
  return failures;
}

/** One fused kernel's commands: copies and dispatches recorded in order, then submitted together. */
export class GpuWork {
  private readonly encoder: GPUCommandEncoder;
  private readonly temporaries: GPUBuffer[] = [];

  constructor(private readonly backend: WebGPUBackend) {
    this.encoder = backend.device.createCommandEncoder();
  }

  /** A buffer of `bytes` for this kernel alone, back to tfjs's pool after submit. */
  temporary(bytes: number, usage: number): GPUBuffer {
    const buffer = this.backend.bufferManager.acquireBuffer(bytes, usage);
    this.temporaries.push(buffer);
    return buffer;
  }

  /** A uniform buffer holding `data` (a multiple of 16 bytes). */
  uniforms(data: ArrayBufferView<ArrayBuffer>): GPUBuffer {
    const buffer = this.temporary(data.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.backend.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** Copies `floats` float32 values between buffers; offsets in floats. */
  copy(from: GPUBuffer, fromFloat: number, to: GPUBuffer, toFloat: number, floats: number): void {
    this.encoder.copyBufferToBuffer(from, fromFloat * 4, to, toFloat * 4, floats * 4);
  }

  /** One dispatch of `pipeline` with `buffers` bound to bindings 0, 1, ... of group 0 (none where undefined). */
  dispatch(
    pipeline: GPUComputePipeline,
    buffers: (GPUBuffer | undefined)[],
    workgroups: [number, number?],
  ): void {
    const entries: GPUBindGroupEntry[] = [];
    buffers.forEach((buffer, binding) => {
      if (buffer !== undefined) entries.push({ binding, resource: { buffer } });
    });
    const bindGroup = this.backend.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1);
    pass.end();
  }

  /** Submits what tfjs has recorded so far, then this work, and returns the temporaries to the pool. */
  submit(): void {
    this.backend.ensureCommandEncoderReady();
    this.backend.endComputePassEncoder();
    this.backend.submitQueue();
    this.backend.queue.submit([this.encoder.finish()]);
    for (const buffer of this.temporaries) this.backend.bufferManager.releaseBuffer(buffer);
  }
}
