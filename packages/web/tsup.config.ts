import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // Backends stay external and are loaded with dynamic import(), so a bundler splits each into its own chunk.
});
