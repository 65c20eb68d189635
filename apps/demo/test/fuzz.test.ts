/**
 * The parsers' fuzz campaigns in Debian's Chromium, for the parsers that run in browsers: IDX headers and gzip
 * streams (inflated by Chromium's DecompressionStream, not Node's zlib), model.json manifests through the ops
 * rule and the browser loader, and .pt zips, pickles and .safetensors headers. The same seeds and counts as
 * the Node suites (packages/data/src/fuzz.test.ts, packages/node/src/io-fuzz.test.ts,
 * packages/ops/src/pytorch/fuzz.test.ts). Every mutant must give a valid result or one of our typed errors
 * with a one-line message, within a deadline: never a hang, a TypeError or RangeError, or output past a cap.
 * The page (fuzz-page/) is built from the packages' sources with vite; a failure names the seed and the edits.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../packages/ops/src/pytorch/__fixtures__/fixtures';
import { launchChromium, serveStatic } from './browser';
import type { CampaignSummary, Failure, InputName } from './fuzz-page/protocol';
import { buildTestPage, firstMnistItems } from './test-page';

const HERE = dirname(fileURLToPath(import.meta.url));
const PAGE_SOURCE = join(HERE, 'fuzz-page');
const DEMO_WEIGHTS = join(HERE, '..', 'public', 'weights');

async function inputFiles(): Promise<Record<InputName, Uint8Array>> {
  const images = firstMnistItems('testImages', 100);
  const labels = firstMnistItems('testLabels', 100);
  return {
    'images.idx': images,
    'labels.idx': labels,
    'images.idx.gz': gzipSync(images),
    'labels.idx.gz': gzipSync(labels),
    'seed-lenet5.pt': fixture('seed-lenet5.pt'),
    'transposed.pt': fixture('transposed.pt'),
    'int64-weights.pt': fixture('int64-weights.pt'),
    'deflated.pt': fixture('deflated.pt'),
    'seed-lenet5.safetensors': fixture('seed-lenet5.safetensors'),
    'model.json': await readFile(join(DEMO_WEIGHTS, 'model.json')),
    'weights.bin': await readFile(join(DEMO_WEIGHTS, 'weights.bin')),
  };
}

function describeFailure({ seed, how, name, message, problem }: Failure): string {
  return `  seed ${seed} (${how}): ${problem}: ${name}: ${message}`;
}

let site: string;
let close: () => Promise<void> = async () => {};
let summaries: CampaignSummary[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  site = await mkdtemp(join(tmpdir(), 'lenet-fuzz-page-'));
  await buildTestPage(PAGE_SOURCE, site);
  await mkdir(join(site, 'inputs'));
  for (const [name, bytes] of Object.entries(await inputFiles()))
    await writeFile(join(site, 'inputs', name), bytes);
  const server = await serveStatic(site, '/fuzz/');
  const browser = await launchChromium({ webgpu: false });
  close = async () => {
    await browser.cleanup();
    await server.close();
  };
  const page: Page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(server.url);
  await page.waitForFunction(() => window.runFuzz !== undefined);
  summaries = await page.evaluate(() => window.runFuzz!());
});

afterAll(async () => {
  await close();
  if (site) await rm(site, { recursive: true, force: true });
});

describe('fuzz in Chromium', () => {
  it('runs every campaign to its last mutant, with no error on the page', () => {
    expect(pageErrors).toEqual([]);
    // 9 IDX and gzip, 2 manifest, 12 PyTorch campaigns.
    expect(summaries.map((s) => s.campaign)).toHaveLength(23);
    for (const { campaign, planned, answered } of summaries) {
      expect(planned, campaign).toBeGreaterThan(0);
      expect(answered, campaign).toBe(planned);
    }
  });

  it('every mutant gives a valid result or a typed, one-line error, in time', () => {
    for (const { campaign, failures } of summaries) {
      const listed = failures.map(describeFailure).join('\n');
      expect.soft(failures.length, `${campaign}: ${failures.length} failures\n${listed}`).toBe(0);
    }
  });

  it('every campaign reaches the parsers: some mutants are refused, and some stay valid where edits allow', () => {
    for (const { campaign, typed, valid, expectsValid } of summaries) {
      expect.soft(typed, `${campaign}: typed errors`).toBeGreaterThan(0);
      if (expectsValid) expect.soft(valid, `${campaign}: valid results`).toBeGreaterThan(0);
    }
  });
});
