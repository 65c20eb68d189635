import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { releaseBackend, useBackend } from './backends';
import { listGpuAdapters, SWIFTSHADER_ICD, webGpuAdapter } from './webgpu-dawn';

// Dawn reads VK_ICD_FILENAMES whenever it creates an instance, so one process can see "no driver" first and
// SwiftShader after. Needs `apt-get install chromium-common libvulkan1` (.ci/run installs them).
const hasSwiftShader = existsSync(SWIFTSHADER_ICD);
const reason = hasSwiftShader
  ? ''
  : ` (SKIPPED: ${SWIFTSHADER_ICD} missing; apt-get install chromium-common libvulkan1)`;

describe.skipIf(!hasSwiftShader)(`webgpu through Dawn on SwiftShader${reason}`, () => {
  it('without a Vulkan driver: a named webgpu says there is no adapter and what to install', async () => {
    process.env.VK_ICD_FILENAMES = '/nonexistent/lenet-icd.json';
    const attempt = useBackend('webgpu');
    await expect(attempt).rejects.toThrow(
      /The webgpu backend could not be set up: Dawn found no GPU adapter\./,
    );
    await expect(attempt).rejects.toThrow(/chromium-common libvulkan1/);
    expect(webGpuAdapter()).toBeUndefined();
  });

  it('lists the adapters Dawn sees, and rejects a --gpu-adapter that matches none of them', async () => {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    expect(await listGpuAdapters()).toEqual([expect.stringMatching(/backend: 'vulkan', name: 'SwiftShader/)]);
    const attempt = useBackend('webgpu', { gpuAdapter: 'NoSuchGpu' });
    await expect(attempt).rejects.toThrow(/no GPU adapter matches --gpu-adapter 'NoSuchGpu'.*SwiftShader/);
  });

  it("'auto' skips a software adapter and says so", async () => {
    const choice = await useBackend('auto');
    expect(choice.name).toBe('wasm');
    expect(choice.skipped.find((s) => s.name === 'webgpu')?.reason).toMatch(/software.*SwiftShader/);
  });

  it('a named webgpu with --gpu-adapter runs on that adapter, reads back asynchronously, and releases', async () => {
    const choice = await useBackend('webgpu', { gpuAdapter: 'SwiftShader' });
    expect(choice).toMatchObject({
      name: 'webgpu',
      device: expect.stringMatching(/^GPU through WebGPU \(Dawn\): google swiftshader/),
      adapter: { vendor: 'google', isFallbackAdapter: true },
    });
    expect(tf.getBackend()).toBe('webgpu');
    expect(tf.env().getBool('WEBGPU_CONV_SEPARATE_IM2COL_SHADER')).toBe(true);
    const before = tf.memory().numTensors;
    const sum = tf.tidy(() => tf.sum(tf.mul(tf.tensor1d([1, 2, 3]), 2)));
    expect(Array.from(await sum.data())).toEqual([12]);
    sum.dispose();
    expect(tf.memory().numTensors).toBe(before);

    releaseBackend();
    expect(webGpuAdapter()).toBeUndefined();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    expect(tf.findBackend('webgpu')).toBeNull();
  });
});
