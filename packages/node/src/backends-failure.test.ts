import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError, useBackend } from './backends';

// A real failure of a real backend: point the wasm backend at a folder without its .wasm files.
describe('useBackend when the wasm backend cannot start', () => {
  beforeAll(() => {
    setWasmPaths('/nonexistent-lenet-wasm-dir/');
  });

  it('throws BackendUnavailableError for a named backend, with the cause and what to do', async () => {
    await useBackend('cpu');
    const attempt = useBackend('wasm');
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(/The wasm backend could not be set up: .*resolved false/);
    await expect(attempt).rejects.toThrow(/pnpm install/);
    // tfjs alone would leave tf.getBackend() naming the failed 'wasm'; useBackend restores cpu.
    expect(tf.getBackend()).toBe('cpu');
  });

  it("'auto' falls back to cpu and says why wasm was skipped", async () => {
    const choice = await useBackend('auto');
    expect(choice.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const wasm = choice.skipped.find((s) => s.name === 'wasm');
    expect(choice.skipped.map((s) => s.name).at(-1)).toBe('wasm');
    expect(wasm?.reason).toMatch(/tf\.setBackend\('wasm'\) resolved false/);
  });
});
