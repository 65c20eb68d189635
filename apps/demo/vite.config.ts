import { defineConfig } from 'vite';

// base './' makes every URL in the build relative, so dist/ works from any folder of any static host.
// Give an absolute one with `vite build --base /lenet/` or DEMO_BASE=/lenet/ when a host needs it.
export default defineConfig({
  base: process.env['DEMO_BASE'] ?? './',
  // @lenet/web's training workers import tfjs, whose backends are split into chunks: only ES workers load chunks.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // tfjs backends are large single modules; they are split per backend, and only the one in use is loaded.
    chunkSizeWarningLimit: 1500,
  },
});
