import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernels } from '../register-kernels';

/** Debian's SwiftShader Vulkan driver (`apt-get install chromium-common libvulkan1`). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Why webgpu cannot run in this process's tests, or undefined when it can: for `describe.skipIf`, whose
 * title should then say that the suite was skipped and why.
 */
export function whyNoWebGpuForTests(): string | undefined {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return undefined;
  return existsSync(SWIFTSHADER_ICD)
    ? undefined
    : `${SWIFTSHADER_ICD} missing (apt-get install chromium-common libvulkan1)`;
}

type NavigatorWithGpu = { gpu?: unknown };

/**
 * Makes tfjs's webgpu backend the active one, in Node through Dawn (the npm package `webgpu`), on
 * SwiftShader unless VK_ICD_FILENAMES names another Vulkan driver, with our kernels registered and tfjs
 * set up as @lenet/node sets it up. Read results with `await t.data()` (Node's webgpu cannot read
 * synchronously) and call {@link releaseWebGpuForTests} at the end, or Dawn keeps the process alive.
 * Tests only: @lenet/kernels itself never touches Dawn or Node.
 */
export async function useWebGpuForTests(): Promise<void> {
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  const dawn = await import('webgpu');
  // Dawn's globals (GPUBufferUsage, GPUMapMode, ...) are what tfjs's webgpu backend expects in a browser.
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: NavigatorWithGpu };
  if (g.navigator == null) g.navigator = {};
  Object.defineProperty(g.navigator, 'gpu', { value: dawn.create([]), configurable: true, writable: true });
  // The backend registers itself on import only where navigator.gpu exists, so after the lines above.
  await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu') == null) {
    throw new Error(
      'tfjs-backend-webgpu was imported before navigator.gpu existed, so it did not register: import it ' +
        'only through useWebGpuForTests (type imports are fine).',
    );
  }
  // As @lenet/node does: on SwiftShader tfjs's default conv2d shader is slower, and equally correct.
  tf.env().set('WEBGPU_CONV_SEPARATE_IM2COL_SHADER', true);
  await tf.setBackend('webgpu');
  if (tf.getBackend() !== 'webgpu')
    throw new Error('tfjs did not switch to the webgpu backend (no adapter?)');
  registerKernels();
}

/** Frees the webgpu backend and drops navigator.gpu, so the process can exit. Safe to call twice. */
export function releaseWebGpuForTests(): void {
  if (tf.findBackend('webgpu') != null) tf.removeBackend('webgpu');
  const g = globalThis as { navigator?: NavigatorWithGpu };
  if (g.navigator) delete g.navigator.gpu;
}
