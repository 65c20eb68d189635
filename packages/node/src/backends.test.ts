import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, listBackends, useBackend } from './backends';

describe('useBackend', () => {
  it('lists the backends fastest first', () => {
    expect(listBackends()).toEqual(['wasm', 'cpu']);
  });

  it("'auto' picks wasm, with our training kernel, and describes the device", async () => {
    const choice = await useBackend('auto');
    expect(choice).toEqual({
      name: 'wasm',
      requested: 'auto',
      device: expect.stringMatching(/^CPU, WebAssembly( SIMD| \(no SIMD\)), \d+ threads?$/),
      skipped: [],
    });
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

  it('rejects an unknown backend name with the list of valid ones', async () => {
    const attempt = useBackend('webgl' as never);
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow("Unknown backend 'webgl'. Choose one of: auto, wasm, cpu.");
  });
});
