/**
 * The built site (dist/, served under a sub-path) in Debian's Chromium through playwright-core: WebGPU on
 * SwiftShader, drawing with mouse, touch and pen, the sample strip against the model in Node, feature maps,
 * and the fallback without WebGPU. Run `pnpm --filter demo build` first (turbo does it for `pnpm test`).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preprocessImages } from '@lenet/data';
import { describeAdapter } from '@lenet/ops';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveStatic } from './browser';
import { draw, type Pointer, settledDigit } from './pointer-input';
import { shippedModel } from './shipped-weights';
import { DIGIT_STROKES } from './strokes';

const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(APP, 'dist');
const RESULTS = join(APP, 'test-results');
// Served under a sub-path, as on a static host, to check the build's relative URLs.
const BASE_PATH = '/some/sub/path/';

type Launched = Awaited<ReturnType<typeof launchChromium>>;

async function openDemo(
  webgpu: boolean,
): Promise<{ browser: Launched; page: Page; errors: string[]; close(): Promise<void> }> {
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error(`${DIST} has no built site. Run 'pnpm --filter demo build' first.`);
  }
  const server = await serveStatic(DIST, BASE_PATH);
  const browser = await launchChromium({ webgpu });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.url);
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 150_000 });
  const error = await page.locator('#error').textContent();
  if ((await page.getAttribute('body', 'data-state')) === 'error')
    throw new Error(`The demo failed: ${error}`);
  return {
    browser,
    page,
    errors,
    close: async () => {
      await browser.cleanup();
      await server.close();
    },
  };
}

describe('the demo in Chromium with WebGPU', () => {
  let demo: Awaited<ReturnType<typeof openDemo>>;
  let cdp: CDPSession;

  beforeAll(async () => {
    demo = await openDemo(true);
    cdp = await demo.browser.newCDPSession(demo.page);
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('runs on the webgpu backend', async () => {
    expect(await demo.page.getAttribute('#backend-badge', 'data-backend')).toBe('webgpu');
    const choice = await demo.page.evaluate(() => window.lenetDemo!.backend);
    expect(choice).toMatchObject({ name: 'webgpu', requested: 'auto', skipped: [] });
    expect(choice.device).toBe(`GPU through WebGPU: ${describeAdapter(choice.adapter!)}`);
    // Without a GPU, Chromium's WebGPU runs on SwiftShader, and its adapter info says it is a software one.
    if (choice.adapter!.architecture === 'swiftshader') expect(choice.adapter!.isFallbackAdapter).toBe(true);
    expect(await demo.page.isVisible('#fallback-notice')).toBe(false);
  });

  it('predicts digits drawn with mouse, touch and pen strokes', async () => {
    const pointers: Pointer[] = ['mouse', 'touch', 'pen'];
    const predicted: Record<string, number> = {};
    for (const [i, [digit, strokes]] of Object.entries(DIGIT_STROKES).entries()) {
      await demo.page.click('#clear');
      const pointer = pointers[i % pointers.length]!;
      await draw(demo.page, cdp, strokes, pointer);
      predicted[`${digit} (${pointer})`] = await settledDigit(demo.page);
    }
    const expected = Object.fromEntries(Object.keys(predicted).map((k) => [k, Number(k[0])]));
    expect(predicted).toEqual(expected);
  });

  it('undoes the last stroke', async () => {
    await demo.page.click('#clear');
    await draw(demo.page, cdp, DIGIT_STROKES[4]!, 'mouse');
    expect(await settledDigit(demo.page)).toBe(4);
    await demo.page.click('#undo');
    await demo.page.click('#undo');
    await demo.page.waitForFunction(() => document.getElementById('result')!.dataset['digit'] === '');
  });

  it('labels the sample digits as the same model does in Node', async () => {
    const { samples } = JSON.parse(readFileSync(join(DIST, 'samples.json'), 'utf8')) as {
      samples: { index: number; label: number; pixels: string }[];
    };
    const images = samples.map((s) => new Uint8Array(Buffer.from(s.pixels, 'base64')));

    // In Node, on the cpu backend, from the same weights files.
    const { model, preprocessing } = await shippedModel(DIST);
    const flat = new Uint8Array(images.length * 784);
    for (const [i, image] of images.entries()) flat.set(image, i * 784);
    const inputs = preprocessImages(flat, images.length, preprocessing);
    const nodeDigits = tf.tidy(() =>
      Array.from(tf.argMax(model.predict(tf.tensor4d(inputs, [images.length, 32, 32, 1])), 1).dataSync()),
    );
    model.dispose();
    // The shipped weights are good: nearly all of these real test digits are right.
    expect(nodeDigits.filter((d, i) => d === samples[i]!.label).length).toBeGreaterThanOrEqual(
      samples.length - 2,
    );

    // The page's own model on every sample at once...
    const pageDigits = await demo.page.evaluate(
      (pixels) =>
        window.lenetDemo!.classify(pixels.map((p) => Uint8Array.from(atob(p), (c) => c.charCodeAt(0)))),
      samples.map((s) => s.pixels),
    );
    expect(pageDigits).toEqual(nodeDigits);
    // ...and through the strip, by clicking, for one sample of each digit.
    const clicked: number[] = [];
    const expected: number[] = [];
    for (let digit = 0; digit < 10; digit++) {
      const i = samples.findIndex((s) => s.label === digit);
      await demo.page.click(`.sample[data-index="${samples[i]!.index}"]`);
      await demo.page.waitForSelector(`#result[data-source="sample:${samples[i]!.index}"]`, {
        timeout: 60_000,
      });
      clicked.push(await settledDigit(demo.page));
      expected.push(nodeDigits[i]!);
    }
    expect(clicked).toEqual(expected);
  });

  it('renders every feature map, kernel and concept picture (no blank canvas)', async () => {
    await demo.page.click('#clear');
    await draw(demo.page, cdp, DIGIT_STROKES[2]!, 'mouse');
    await settledDigit(demo.page);
    const blank = await demo.page.evaluate(() => {
      const canvases = Array.from(
        document.querySelectorAll<HTMLCanvasElement>('#layers canvas, #concepts canvas'),
      );
      return {
        count: canvases.length,
        blank: canvases
          .filter((canvas) => {
            const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
            // Blank: a single colour everywhere (or 1x1, never drawn).
            return (
              canvas.width * canvas.height <= 1 || data.every((v: number, i: number) => v === data[i % 4])
            );
          })
          .map((canvas) => canvas.getAttribute('aria-label')),
      };
    });
    // 6 kernels + C1 6 + S2 6 + C3 16 + S4 16 + C5 + F6, and 11 concept pictures.
    expect(blank.count).toBe(6 + 6 + 6 + 16 + 16 + 1 + 1 + 11);
    // A C3 or S4 map may legitimately be flat for some digit; the first-layer maps and concepts never are.
    expect(blank.blank.filter((label) => !/^(C3|S4) map/.test(label ?? ''))).toEqual([]);
    expect(blank.blank.length).toBeLessThanOrEqual(4);
  });

  it('saves a screenshot of the page as a test artifact', async () => {
    mkdirSync(RESULTS, { recursive: true });
    await demo.page.click('#clear');
    await draw(demo.page, cdp, DIGIT_STROKES[3]!, 'mouse');
    await settledDigit(demo.page);
    const path = join(RESULTS, 'demo-webgpu.png');
    await demo.page.screenshot({ path, fullPage: true });
    expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
    expect(demo.errors).toEqual([]);
  });
});

describe('the demo in Chromium without WebGPU', () => {
  it('falls back to another backend and says why', async () => {
    const demo = await openDemo(false);
    try {
      const backend = await demo.page.evaluate(() => window.lenetDemo!.backend);
      expect(backend.name).not.toBe('webgpu');
      expect(backend.requested).toBe('auto');
      expect(backend.skipped[0]).toEqual({
        name: 'webgpu',
        reason: expect.stringMatching(/no WebGPU adapter/),
      });
      expect(await demo.page.getAttribute('#backend-badge', 'data-backend')).toBe(backend.name);
      const notice = demo.page.locator('#fallback-notice');
      expect(await notice.isVisible()).toBe(true);
      expect(await notice.textContent()).toMatch(
        new RegExp(
          `WebGPU is not available here, so the model runs on ${backend.name} instead \\(webgpu: no WebGPU adapter`,
        ),
      );
      // The first sample, MNIST test image 0, is a 7 that the shipped weights get right.
      await demo.page.click('.sample[data-index="0"]');
      await demo.page.waitForSelector('#result[data-source="sample:0"]', { timeout: 60_000 });
      expect(await settledDigit(demo.page)).toBe(7);
      mkdirSync(RESULTS, { recursive: true });
      await demo.page.screenshot({ path: join(RESULTS, `demo-fallback-${backend.name}.png`) });
      expect(demo.errors).toEqual([]);
    } finally {
      await demo.close();
    }
  });
});
