/** Test helpers: a static server for the built site, and Debian's Chromium driven by playwright-core. */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.gz': 'application/gzip',
};

/**
 * Cross-origin isolation: with these headers a page gets SharedArrayBuffer, and tfjs-backend-wasm its threaded
 * build.
 */
export const CROSS_ORIGIN_ISOLATION: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/**
 * Serves `root` on 127.0.0.1 under `basePath` (a sub-folder, as a static host would), with `headers` on every file.
 * `alter` may serve other bytes for a file (a test's corrupt download); `requests` counts what was asked for.
 */
export async function serveStatic(
  root: string,
  basePath: string,
  headers: Readonly<Record<string, string>> = {},
  alter?: (relativePath: string, body: Buffer) => Buffer,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    if (!path.startsWith(basePath)) return void response.writeHead(404).end();
    const relative = normalize(path.slice(basePath.length) || 'index.html').replace(/^(\.\.[/\\])+/, '');
    requests.push(relative);
    try {
      const file = await readFile(join(root, relative.endsWith('/') ? `${relative}index.html` : relative));
      const body = alter ? alter(relative, file) : file;
      response
        .writeHead(200, {
          ...headers,
          'content-type': TYPES[extname(relative)] ?? 'application/octet-stream',
        })
        .end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${basePath}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Starts headless Chromium with a fresh profile. `webgpu: false` leaves out --enable-unsafe-webgpu, so the browser
 * has no WebGPU adapter (as on machines without a supported GPU).
 */
export async function launchChromium(options: {
  webgpu: boolean;
}): Promise<BrowserContext & { cleanup(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. Install it with 'apt-get install chromium' (.ci/run does); ` +
        'these tests never download a browser.',
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'lenet-demo-chromium-'));
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--enable-unsafe-swiftshader',
    ...(options.webgpu ? ['--enable-unsafe-webgpu'] : []),
  ];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1100, height: 900 },
    hasTouch: true,
  });
  return Object.assign(context, {
    async cleanup() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  });
}
