import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineConfig, type Plugin } from 'vite';

/**
 * Vite's dev and preview servers send a `.gz` file with `Content-Encoding: gzip`, so the browser inflates it
 * and the page would cache MNIST at five times its size. Static hosts send such files as plain bytes, which is
 * what the page expects (it inflates them itself); this makes Vite's servers do the same.
 */
function gzipFilesAsBytes(): Plugin {
  const asBytes = (request: IncomingMessage, response: ServerResponse, next: () => void) => {
    if (new URL(request.url ?? '/', 'http://x').pathname.endsWith('.gz')) {
      const setHeader = response.setHeader.bind(response);
      response.setHeader = (name, value) => {
        const header = name.toLowerCase();
        if (header === 'content-encoding') return response;
        return setHeader(name, header === 'content-type' ? 'application/gzip' : value);
      };
    }
    next();
  };
  return {
    name: 'gzip-files-as-bytes',
    configureServer: (server) => void server.middlewares.use(asBytes),
    configurePreviewServer: (server) => void server.middlewares.use(asBytes),
  };
}

// base './' makes every URL in the build relative, so dist/ works from any folder of any static host.
// Give an absolute one with `vite build --base /lenet/` or DEMO_BASE=/lenet/ when a host needs it.
export default defineConfig({
  base: process.env['DEMO_BASE'] ?? './',
  plugins: [gzipFilesAsBytes()],
  // @lenet/web's training workers import tfjs, whose backends are split into chunks: only ES workers load chunks.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // tfjs backends are large single modules; they are split per backend, and only the one in use is loaded.
    chunkSizeWarningLimit: 1500,
  },
});
