import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importedPackages } from '../../../test-utils/imported-packages';

const SRC = dirname(fileURLToPath(import.meta.url));

describe('@lenet/kernels runs in Node, browsers, workers and bundlers', () => {
  it('imports no Node built-ins, only tfjs and @lenet/ops', () => {
    expect(importedPackages(join(SRC, 'index.ts'))).toEqual([
      '@lenet/ops',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      // Types only: the WGSL kernels use the backend it gives them, and never import it.
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-core',
    ]);
  });
});
