import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, parseBackendName, setupBackend, TRAINING_BACKENDS } from './backend';

// Node has neither WebGPU nor a canvas: the real fallback chain ends on wasm, and says why it skipped the others.
describe('setupBackend in Node', () => {
  it('skips webgpu and webgl with their reasons and runs on wasm', async () => {
    const choice = await setupBackend();
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.requested).toBe('auto');
    expect(choice.device).toMatch(/^CPU, WebAssembly( SIMD| \(no SIMD\)), \d+ threads?$/);
    expect(choice.adapter).toBeUndefined();
    expect(choice.skipped.map((s) => s.name)).toEqual(['webgpu', 'webgl']);
    expect(choice.skipped[0]!.reason).toMatch(/navigator\.gpu is missing/);
    expect(choice.skipped[1]!.reason).toMatch(/no canvas/);
  });

  it('tries the backends in the order given, e.g. the training order (wasm before webgl)', async () => {
    const choice = await setupBackend({ order: TRAINING_BACKENDS, skipSoftwareGpu: true });
    expect(choice.name).toBe('wasm');
    expect(choice.skipped.map((s) => s.name)).toEqual(['webgpu']);
    const cpuFirst = await setupBackend({ order: ['cpu', 'wasm'] });
    expect(cpuFirst).toMatchObject({ name: 'cpu', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('treats a forced backend that cannot run as an error, and does not fall back', async () => {
    await setupBackend({ backend: 'cpu' });
    const failure = await setupBackend({ backend: 'webgpu' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackendUnavailableError);
    const error = failure as BackendUnavailableError;
    expect(error.name).toBe('BackendUnavailableError');
    expect(error.message).toMatch(/webgpu backend cannot run here: navigator\.gpu/);
    expect(error.backend).toBe('webgpu');
    expect(error.reason).toMatch(/^navigator\.gpu is missing/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('runs a forced backend that works', async () => {
    expect(await setupBackend({ backend: 'cpu' })).toEqual({
      name: 'cpu',
      requested: 'cpu',
      device: 'CPU, plain JavaScript, 1 thread',
      skipped: [],
    });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('checks backend names from user input', () => {
    expect(parseBackendName('webgl')).toBe('webgl');
    expect(parseBackendName('auto')).toBe('auto');
    expect(() => parseBackendName('cuda')).toThrow(
      /Unknown backend 'cuda'. Use auto, webgpu, webgl, wasm, cpu/,
    );
  });
});
