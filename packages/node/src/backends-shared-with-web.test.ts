import { BackendUnavailableError as OpsBackendUnavailableError } from '@lenet/ops';
import { describe, expect, it } from 'vitest';
// No package depends on both @lenet/node and @lenet/web, so @lenet/web's source is imported by path; both resolve
// @lenet/ops to the same module, as one install of the packages does.
import {
  setupBackend,
  type BackendChoice as WebBackendChoice,
  BackendUnavailableError as WebBackendUnavailableError,
} from '../../web/src/backend';
import { type BackendChoice, BackendUnavailableError, useBackend } from './backends';

describe('@lenet/node and @lenet/web report backends alike', () => {
  it('throw the one BackendUnavailableError class, so one instanceof catches both', async () => {
    expect(BackendUnavailableError).toBe(WebBackendUnavailableError);
    expect(BackendUnavailableError).toBe(OpsBackendUnavailableError);

    const fromNode = await useBackend('webgl' as never).catch((error: unknown) => error);
    expect(fromNode).toBeInstanceOf(WebBackendUnavailableError);
    expect((fromNode as Error).message).toMatch(/^Unknown backend 'webgl'/);

    // Node has no navigator.gpu, so forcing webgpu through @lenet/web fails for real.
    const fromWeb = await setupBackend({ backend: 'webgpu' }).catch((error: unknown) => error);
    expect(fromWeb).toBeInstanceOf(BackendUnavailableError);
    expect(fromWeb).toMatchObject({ name: 'BackendUnavailableError', backend: 'webgpu' });
  });

  it('return a BackendChoice of the same shape', async () => {
    const fromNode: BackendChoice = await useBackend('cpu');
    const fromWeb: WebBackendChoice = await setupBackend({ backend: 'cpu' });
    expect(fromWeb).toEqual(fromNode);
    expect(fromNode).toEqual({
      name: 'cpu',
      requested: 'cpu',
      device: 'CPU, plain JavaScript, 1 thread',
      skipped: [],
    });
  });
});
