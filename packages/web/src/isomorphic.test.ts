import { readFileSync } from 'node:fs';
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
      '@lenet/ops/parallel',
      '@lenet/ops/pytorch',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-core',
    ]);
  });

  it('starts Web Workers from an entry point of its own, and runs them on browser-safe packages only', () => {
    for (const entry of ['workers.ts', 'replica-worker.ts']) {
      for (const specifier of importedPackages(join(SRC, entry))) {
        expect(specifier, entry).toMatch(/^@(lenet|tensorflow)\//);
      }
    }
    // The root entry does not name the worker's module, so bundling it builds no worker.
    expect(readFileSync(join(SRC, 'index.ts'), 'utf8')).not.toMatch(/web-worker-channels|'\.\/workers'/);
  });
});
