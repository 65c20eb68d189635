import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, describeAdapter, type GpuAdapterInfo } from './backend-choice';

describe('BackendUnavailableError', () => {
  it('is an Error named for what it is, carrying the backend, the reason and the cause', () => {
    const cause = new Error('tf.setBackend resolved false');
    const error = new BackendUnavailableError('The wasm backend could not be set up: it failed.', {
      backend: 'wasm',
      reason: 'it failed',
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('BackendUnavailableError');
    expect(String(error)).toBe('BackendUnavailableError: The wasm backend could not be set up: it failed.');
    expect(error).toMatchObject({ backend: 'wasm', reason: 'it failed', cause });
  });

  it('takes its message as the reason when no shorter one is given, and names no backend unless told', () => {
    const error = new BackendUnavailableError("Unknown backend 'webgl'.");
    expect(error.reason).toBe("Unknown backend 'webgl'.");
    expect(error.backend).toBeUndefined();
    expect('cause' in error).toBe(false);
  });
});

describe('describeAdapter', () => {
  const swiftShader: GpuAdapterInfo = {
    vendor: 'google',
    architecture: 'swiftshader',
    device: 'swiftshader-device-subzero-',
    description: 'SwiftShader driver 5.0.0',
    isFallbackAdapter: true,
  };

  it('names the adapter in one line and says when it is a software one', () => {
    expect(describeAdapter(swiftShader)).toBe(
      'google swiftshader (SwiftShader driver 5.0.0), software fallback adapter',
    );
    expect(
      describeAdapter({
        vendor: 'nvidia',
        architecture: '',
        device: '',
        description: '',
        isFallbackAdapter: false,
      }),
    ).toBe('nvidia');
  });

  it('falls back to the device id, then to saying it is unknown', () => {
    const blank = { vendor: '', architecture: '', description: '', isFallbackAdapter: false };
    expect(describeAdapter({ ...blank, device: '0x2684' })).toBe('0x2684');
    expect(describeAdapter({ ...blank, device: '' })).toBe('unknown adapter');
  });
});
