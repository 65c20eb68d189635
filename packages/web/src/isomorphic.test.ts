import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importedPackages } from '../../../test-utils/imported-packages';

const SRC = dirname(fileURLToPath(import.meta.url));

describe('@lenet/web runs in browsers', () => {
  it('imports no Node built-ins, only tfjs and the browser-safe workspace packages', () => {
    expect(importedPackages(join(SRC, 'index.ts'))).toEqual([
      '@lenet/data',
      '@lenet/kernels',
      '@lenet/ops',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-core',
    ]);
  });
});
