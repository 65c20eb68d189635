import { defineConfig } from 'tsup';

export default defineConfig({
  // The replica worker is an entry of its own, next to index.js, where `new URL('./replica-worker.js',
  // import.meta.url)` finds it (from index.cjs too, through tsup's import.meta.url shim).
  entry: { index: 'src/index.ts', 'replica-worker': 'src/parallel/replica-worker.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  // Optional native packages: resolved at run time where the user installed them, never bundled.
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
});
