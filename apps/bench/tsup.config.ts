import { defineConfig } from 'tsup';

export default defineConfig({
  // gpu-check.js runs bench.js (--measure) as its children: both land in dist/.
  entry: ['src/bench.ts', 'src/gpu-check.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
});
