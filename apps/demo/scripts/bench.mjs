// `pnpm bench` (turbo builds the demo first): batch-1 inference latency of the built demo's model in headless
// Debian Chromium, for each backend the page can force with ?backend=. Prints numbers; asserts nothing.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const RUNS = { webgpu: 20, webgl: 50, wasm: 200, cpu: 100 };
const CHROMIUM = '/usr/bin/chromium';
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
if (!existsSync(CHROMIUM))
  throw new Error(`No Chromium at ${CHROMIUM}: install it with 'apt-get install chromium'.`);
if (!existsSync(join(dist, 'index.html'))) throw new Error("No built demo: run 'pnpm --filter demo build'.");

const types = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};
const server = createServer(async (request, response) => {
  const path = new URL(request.url, 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
  try {
    const body = await readFile(join(dist, path.replaceAll('..', '')));
    response.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const profile = await mkdtemp(join(tmpdir(), 'lenet-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--enable-unsafe-webgpu',
    '--enable-unsafe-swiftshader',
  ],
});
const version = context.browser()?.version() ?? 'Chromium';
console.log(
  `browser inference latency, batch 1 (upload + forward + softmax + read back), headless ${version}`,
);
try {
  for (const [backend, runs] of Object.entries(RUNS)) {
    const page = await context.newPage();
    await page.goto(`${url}?backend=${backend}`);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 120_000 });
    const error = await page.locator('#error').textContent();
    if ((await page.getAttribute('body', 'data-state')) === 'error') {
      console.log(`  ${backend.padEnd(7)} unavailable: ${error}`);
    } else {
      // Let the page's first render finish so it does not compete with the timing.
      await page.waitForFunction(() => document.body.dataset.busy === 'false');
      const ms = await page.evaluate((n) => window.lenetDemo.benchmark(n), runs);
      console.log(`  ${backend.padEnd(7)} ${ms.toFixed(2).padStart(8)} ms   (mean of ${runs})`);
    }
    await page.close();
  }
} finally {
  await context.close();
  await rm(profile, { recursive: true, force: true });
  server.close();
}
