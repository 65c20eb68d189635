import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SWIFTSHADER_ICD } from '@lenet/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lenet } from './run-cli';

// Dawn on SwiftShader: a GPU in software, so the sizes stay tiny. Needs `apt-get install chromium-common
// libvulkan1` (.ci/run installs them).
const driver = process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD;
const skipped = existsSync(driver)
  ? ''
  : ` (SKIPPED: ${driver} missing; apt-get install chromium-common libvulkan1)`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-webgpu-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skipped !== '')(`lenet train --backend webgpu${skipped}`, () => {
  const tiny = ['--backend', 'webgpu', '--limit', '128', '--test-limit', '100', '--batch-size', '32'];
  const train = (...args: string[]) =>
    lenet(['train', ...tiny, '--out', join(dir, 'run'), ...args], { VK_ICD_FILENAMES: driver });
  const epochs = async () =>
    JSON.parse(await readFile(join(dir, 'run', 'metrics.json'), 'utf8')).epochs as {
      trainLoss: number;
      testLoss: number;
    }[];

  it('trains with the training set on the device and writes the model', async () => {
    const run = await train('--epochs', '1');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^backend: webgpu on GPU through WebGPU \(Dawn\)/m);
    expect(run.stdout).toMatch(
      /^steps: this thread, the training set on the device \(\d+ MB\), batches made there$/m,
    );
    const [first] = await epochs();
    expect(first!.trainLoss).toBeGreaterThan(0);
    expect(first!.testLoss).toBeLessThan(Math.log(10) + 0.5);
    expect(existsSync(join(dir, 'run', 'model', 'weights.bin'))).toBe(true);
  });

  it('resumes from its checkpoint on the device', async () => {
    const run = await train('--epochs', '2', '--resume');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('resumed from');
    expect(run.stdout).not.toMatch(/^epoch 1\/2:/m);
    const [first, second] = await epochs();
    expect(second!.testLoss).toBeLessThan(first!.testLoss);
  });
});
