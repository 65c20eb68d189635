import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareSplit, preprocessImages } from '@lenet/data';
import { useBackend } from '@lenet/node';
import { type LeNet5, PARAM_NAMES } from '@lenet/ops';
import { importPyTorchWeights } from '@lenet/ops/pytorch';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadData } from '../dataset';
import { CliError, UsageError } from '../errors';
import { loadTrainedModel } from '../model-files';
import { evaluateCommand } from './evaluate';
import { exportCommand } from './export';
import { importCommand } from './import';

// Written by PyTorch with the seed's own model code: packages/ops/scripts/make-pytorch-fixtures.py.
const FIXTURES = new URL('../../../../packages/ops/src/pytorch/__fixtures__/', import.meta.url);
const fixturePath = (name: string) => fileURLToPath(new URL(name, FIXTURES));
const expected = JSON.parse(readFileSync(fixturePath('expected.json'), 'utf8')) as {
  resized32Base64: string;
  testCorrect: number;
};
const SEED = { resize: 'bilinear', normalize: null };

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  expect(tf.getBackend()).toBe('wasm');
  dir = await mkdtemp(join(tmpdir(), 'lenet-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs a command, returning what it printed. */
async function run(command: (argv: string[]) => Promise<void>, ...argv: string[]): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await command(argv);
    return log.mock.calls.map((call) => call.join(' ')).join('\n');
  } finally {
    log.mockRestore();
  }
}

async function bitsOf(model: LeNet5): Promise<Uint32Array[]> {
  return Promise.all(
    PARAM_NAMES.map(
      async (name) => new Uint32Array(((await model.params[name].data()) as Float32Array).slice().buffer),
    ),
  );
}

describe('a .pt saved by the seed PyTorch code', () => {
  it('predicts the same digit as PyTorch for every one of the 10,000 test images', async () => {
    const { model, preprocessing } = await loadTrainedModel(fixturePath('seed-lenet5.pt'));
    expect(preprocessing).toEqual(SEED);
    const test = prepareSplit((await loadData('embedded')).test, preprocessing);
    const pytorch = new Uint8Array(readFileSync(fixturePath('predictions-10k.bin')));
    expect(pytorch).toHaveLength(10000);

    const before = tf.memory().numTensors;
    const ours = new Uint8Array(test.count);
    for (let start = 0; start < test.count; start += 1000) {
      const digits = tf.tidy(() => {
        const x = tf.tensor4d(test.inputs.subarray(start * 1024, (start + 1000) * 1024), [1000, 32, 32, 1]);
        return tf.argMax(model.forward(x), 1);
      });
      ours.set(await digits.data(), start);
      digits.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();

    const differing = [...ours.keys()].filter((i) => ours[i] !== pytorch[i]);
    expect(differing).toEqual([]);
    const correct = [...ours.keys()].filter((i) => ours[i] === test.labels[i]).length;
    expect(correct).toBe(expected.testCorrect);
  });

  it("preprocesses like torchvision's Resize((32,32)) + ToTensor, to the bit", async () => {
    const { test } = await loadData('embedded');
    const ours = preprocessImages(test.images.subarray(0, 8 * 784), 8, SEED as never);
    const pil = new Uint8Array(Buffer.from(expected.resized32Base64, 'base64'));
    expect(Array.from(ours)).toEqual(Array.from(pil, (b) => Math.fround(b / 255)));
  });

  it('evaluates directly with eval --weights FILE.pt, with PyTorch accuracy', async () => {
    const printed = await run(
      evaluateCommand,
      '--weights',
      fixturePath('seed-lenet5.pt'),
      '--backend',
      'wasm',
      '--report',
      join(dir, 'eval-report'),
    );
    const accuracy = ((100 * expected.testCorrect) / 10000).toFixed(2);
    expect(printed).toContain(`test accuracy ${accuracy}% (${expected.testCorrect}/10000)`);
  });
});

describe('lenet import and lenet export', () => {
  it('imports a .pt into TF.js weights that record the seed preprocessing and keep every bit', async () => {
    const out = join(dir, 'from-pt');
    const printed = await run(importCommand, fixturePath('seed-lenet5.pt'), '--out', out);
    expect(printed).toMatch(/bilinear resize 28->32, no normalisation/);
    const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata.preprocessing).toEqual(SEED);
    expect(json.userDefinedMetadata.importedFrom).toEqual({ file: 'seed-lenet5.pt', format: 'pt' });

    const loaded = await loadTrainedModel(out);
    const direct = importPyTorchWeights(new Uint8Array(readFileSync(fixturePath('seed-lenet5.pt')))).model;
    expect(await bitsOf(loaded.model)).toEqual(await bitsOf(direct));
    loaded.model.dispose();
    direct.dispose();
  });

  it('exports those weights to the very bytes PyTorch wrote (PyTorch -> ours -> safetensors)', async () => {
    const out = join(dir, 'from-pt');
    await run(exportCommand, '--weights', out, '--format', 'safetensors');
    const exported = await readFile(join(out, 'lenet5.safetensors'));
    expect(exported.equals(readFileSync(fixturePath('seed-lenet5.safetensors')))).toBe(true);

    const file = join(dir, 'direct', 'copy.safetensors');
    await run(exportCommand, '--weights', fixturePath('seed-lenet5.pt'), '--out', file);
    expect((await readFile(file)).equals(exported)).toBe(true);
  });

  it('records another recipe when told, and export carries it into the safetensors metadata', async () => {
    const out = join(dir, 'default-recipe');
    await run(importCommand, fixturePath('seed-lenet5.safetensors'), '--out', out, '--recipe', 'default');
    const { preprocessing, model } = await loadTrainedModel(out);
    model.dispose();
    expect(preprocessing.resize).toBe('pad');
    const file = join(dir, 'default.safetensors');
    await run(exportCommand, '--weights', out, '--out', file);
    expect(importPyTorchWeights(new Uint8Array(await readFile(file))).preprocessing).toEqual(preprocessing);
  });

  it('refuses a malicious, a missing or a misnamed file with a clear error', async () => {
    await expect(
      importCommand([fixturePath('malicious-os-system.pt'), '--out', join(dir, 'x')]),
    ).rejects.toThrow(CliError);
    await expect(
      importCommand([fixturePath('malicious-os-system.pt'), '--out', join(dir, 'x')]),
    ).rejects.toThrow(
      /cannot import PyTorch weights from .*malicious-os-system\.pt: .*refusing the global '\w+\.system'/,
    );
    await expect(importCommand([join(dir, 'none.pt')])).rejects.toThrow(
      /cannot read PyTorch weights .*none\.pt/,
    );
    await expect(importCommand([join(dir, 'weights.bin')])).rejects.toThrow(UsageError);
    await expect(exportCommand(['--weights', fixturePath('seed-lenet5.pt')])).rejects.toThrow(/--out FILE/);
    await expect(exportCommand(['--format', 'onnx'])).rejects.toThrow(/--format must be one of safetensors/);
  });
});
