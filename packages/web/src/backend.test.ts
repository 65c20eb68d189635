import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, parseBackendName, setupBackend } from './backend';

// Node has neither WebGPU nor a canvas: the real fallback chain ends on wasm, and says why it skipped the others.
describe('setupBackend in Node', () => {
  it('skips webgpu and webgl with their reasons and runs on wasm', async () => {
    const choice = await setupBackend();
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.forced).toBe(false);
    expect(choice.skipped.map((s) => s.backend)).toEqual(['webgpu', 'webgl']);
    expect(choice.skipped[0]!.reason).toMatch(/navigator\.gpu is missing/);
    expect(choice.skipped[1]!.reason).toMatch(/no canvas/);
  });

  it('treats a forced backend that cannot run as an error, and does not fall back', async () => {
    await setupBackend({ backend: 'cpu' });
    const failure = await setupBackend({ backend: 'webgpu' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackendUnavailableError);
    expect((failure as BackendUnavailableError).message).toMatch(
      /webgpu backend cannot run here: navigator\.gpu/,
    );
    expect(tf.getBackend()).toBe('cpu');
  });

  it('runs a forced backend that works', async () => {
    expect(await setupBackend({ backend: 'cpu' })).toEqual({ backend: 'cpu', skipped: [], forced: true });
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
