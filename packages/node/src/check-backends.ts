import * as tf from '@tensorflow/tfjs-core';
import {
  type BackendOptions,
  backendProvider,
  listBackends,
  type NodeBackendName,
  releaseBackend,
  useBackend,
} from './backends';
import type { GpuAdapterInfo } from './webgpu-dawn';

/** Whether one backend can run here, as `lenet doctor` reports it. */
export interface BackendStatus {
  name: NodeBackendName;
  available: boolean;
  /** The device in words when available; why not (and what to do) otherwise. */
  detail: string;
  /** The npm package(s) behind the backend. */
  package: string;
  /** Installed version(s), or undefined when not installed. */
  version: string | undefined;
  /** The GPU adapter, for webgpu when it started. */
  adapter?: GpuAdapterInfo;
}

/**
 * Tries every backend in this process, one after another, and reports which start and why the others
 * do not. Each one really runs a small computation. Leaves no backend set up (GPUs are released).
 */
export async function checkBackends(options: BackendOptions = {}): Promise<BackendStatus[]> {
  const statuses: BackendStatus[] = [];
  for (const name of listBackends()) {
    const provider = backendProvider(name);
    const base = { name, package: provider.package, version: provider.version };
    try {
      const choice = await useBackend(name, options);
      // Setting a backend up is not enough: make it compute, and read the result back asynchronously.
      const sum = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])));
      const value = (await sum.data())[0];
      sum.dispose();
      if (value !== 6) throw new Error(`computed 1+2+3 = ${value}`);
      statuses.push({
        ...base,
        available: true,
        detail: choice.device,
        ...(choice.adapter ? { adapter: choice.adapter } : {}),
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const detail = message
        .replace(/^The \w+ backend could not be set up: /, '')
        .replace(/ Or pick another backend.*$/s, '');
      statuses.push({ ...base, available: false, detail });
    }
  }
  releaseBackend();
  return statuses;
}
