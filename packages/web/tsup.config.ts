import { defineConfig } from 'tsup';

export default defineConfig({
  // The replica worker is an entry of its own, next to workers.js, where `new URL('./replica-worker.js',
  // import.meta.url)` finds it (from workers.cjs too, through tsup's import.meta.url shim). Starting
  // workers is an entry of its own too: a bundler builds the worker for the apps that import it only.
  entry: {
    index: 'src/index.ts',
    workers: 'src/workers.ts',
    'replica-worker': 'src/replica-worker.ts',
  },
  format: ['esm', 'cjs'],
  shims: true,
  dts: true,
  sourcemap: true,
  clean: true,
  // Backends stay external and are loaded with dynamic import(), so a bundler splits each into its own chunk.
});
