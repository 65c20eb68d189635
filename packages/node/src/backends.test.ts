import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, backendProvider, listBackends, useBackend } from './backends';

describe('useBackend', () => {
  it("lists the backends in the order 'auto' tries them", () => {
    expect(listBackends()).toEqual(['cuda', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
  });

  it("'auto' skips the GPU and native backends that cannot start here, says why, and picks wasm", async () => {
    const choice = await useBackend('auto');
    expect(choice).toMatchObject({
      name: 'wasm',
      requested: 'auto',
      device: expect.stringMatching(/^CPU, WebAssembly( SIMD| \(no SIMD\)), \d+ threads?$/),
    });
    // This machine has neither tfjs-node-gpu nor a built tfjs-node, and (without VK_ICD_FILENAMES) no Vulkan GPU.
    expect(choice.skipped.map((s) => s.name)).toEqual(['cuda', 'webgpu', 'tensorflow']);
    for (const { reason } of choice.skipped) expect(reason).not.toContain('\n');
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('sets up a named backend, and switching back and forth keeps the fast cpu kernel', async () => {
    const cpu = await useBackend('cpu');
    expect(cpu).toEqual({
      name: 'cpu',
      requested: 'cpu',
      device: 'CPU, plain JavaScript, 1 thread',
      skipped: [],
    });
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc.name).toBe('conv2dBackpropFilterCpu');

    expect((await useBackend('wasm')).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect((await useBackend('cpu')).name).toBe('cpu');
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc.name).toBe('conv2dBackpropFilterCpu');
  });

  it('asked for cuda without tfjs-node-gpu: says how to install it, never falls back', async () => {
    await useBackend('cpu');
    const attempt = useBackend('cuda');
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(
      /The cuda backend could not be set up: @tensorflow\/tfjs-node-gpu is not installed\. Install it with `pnpm add -w @tensorflow\/tfjs-node-gpu@4\.22\.0`/,
    );
    await expect(attempt).rejects.toThrow(/onlyBuiltDependencies.*pnpm approve-builds/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('asked for tensorflow, installed without its install script: says the addon was not built', async () => {
    const attempt = useBackend('tensorflow');
    await expect(attempt).rejects.toThrow(
      /@tensorflow\/tfjs-node is installed but its native addon \(tfjs_binding\.node\) is missing: its install script did not run/,
    );
    await expect(attempt).rejects.toThrow(/pnpm rebuild @tensorflow\/tfjs-node/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('names the package and version behind each backend', () => {
    expect(backendProvider('wasm')).toEqual({ package: '@tensorflow/tfjs-backend-wasm', version: '4.22.0' });
    expect(backendProvider('tensorflow')).toEqual({ package: '@tensorflow/tfjs-node', version: '4.22.0' });
    expect(backendProvider('cuda')).toEqual({ package: '@tensorflow/tfjs-node-gpu', version: undefined });
    expect(backendProvider('webgpu').version).toBe('4.22.0 + 0.6.2');
  });

  it('rejects an unknown backend name with the list of valid ones', async () => {
    const attempt = useBackend('webgl' as never);
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(
      "Unknown backend 'webgl'. Choose one of: auto, cuda, webgpu, tensorflow, wasm, cpu.",
    );
  });
});
