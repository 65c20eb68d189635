import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystemHandler, useBackend } from '@lenet/node';
import { LeNet5, saveWeights } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVAL_HELP } from './commands/evaluate';
import { EXPORT_HELP, exportCommand } from './commands/export';
import { PREDICT_HELP } from './commands/predict';
import { CliError } from './errors';

let root: string;
let nanDir: string;

beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'lenet-model-files-'));
  // Weights as a diverged training run leaves them: NaN in one bias, infinities in another.
  nanDir = join(root, 'diverged');
  const model = LeNet5.create({ seed: 1 });
  model.params['C3/bias'].assign(tf.fill([16], Number.NaN));
  model.params['output/bias'].assign(tf.tensor1d([Number.POSITIVE_INFINITY, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  await saveWeights(model, fileSystemHandler(nanDir), { preprocessing: { resize: 'pad', normalize: null } });
  model.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('non-finite weights in eval, predict and export', () => {
  it('documents --allow-non-finite in each command that loads weights', () => {
    for (const help of [EVAL_HELP, PREDICT_HELP, EXPORT_HELP]) {
      expect(help).toMatch(
        /--allow-non-finite +load weights that hold NaN or Infinity \(refused otherwise\)/,
      );
    }
  });

  it('refuses them in one line naming the folder, and exports them with --allow-non-finite and a warning', async () => {
    const out = join(root, 'out.safetensors');
    const before = tf.memory().numTensors;
    const refused = await exportCommand(['--weights', nanDir, '--out', out]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as Error).message).toBe(
      `cannot load weights from ${nanDir}: 'C3/bias' holds 16 NaN of its 16 values, 'output/bias' holds 1 ` +
        'infinite of its 10 values, so every result would be meaningless. Retrain (a diverged run writes such ' +
        'weights), or pass --allow-non-finite to use them anyway',
    );
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
    expect(tf.memory().numTensors).toBe(before);

    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await exportCommand(['--weights', nanDir, '--out', out, '--allow-non-finite']);
      expect(warn.mock.calls.map((call) => String(call[0]))).toContainEqual(
        `WARNING: ${nanDir} holds weights that are not finite numbers: 'C3/bias' holds 16 NaN of its 16 values, ` +
          "'output/bias' holds 1 infinite of its 10 values. --allow-non-finite loads them, but every accuracy, " +
          'probability and export computed from them is meaningless',
      );
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
    expect((await stat(out)).size).toBeGreaterThan(246824);
    expect(tf.memory().numTensors).toBe(before);
  });
});
