import '@tensorflow/tfjs-backend-cpu';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  augmentationFor,
  type BatchOptions,
  DEFAULT_PREPROCESSING,
  type PreparedSplit,
  prepareSplit,
  RECIPES,
  type Recipe,
} from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { releaseBackend, SWIFTSHADER_ICD, useBackend } from '@lenet/node';
import { LeNet5, learningRateAt } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, type TrainingState } from './checkpoint';
import { createEngine, type StepEngine, usesGpuEngine } from './engine';
import { createGpuEngine } from './gpu-engine';
import { runEpochs, type TrainSettings } from './training-loop';

let train: PreparedSplit;
let test: PreparedSplit;
let testImages: Uint8Array;
const dirs: string[] = [];

beforeAll(async () => {
  // As `lenet train --backend cpu` sets it up: our cpu kernels registered.
  await useBackend('cpu');
  const mnist = await loadEmbeddedMnist();
  train = prepareSplit(mnist.train, DEFAULT_PREPROCESSING, 192);
  test = prepareSplit(mnist.test, DEFAULT_PREPROCESSING, 300);
  testImages = mnist.test.images;
});

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The losses of `steps` steps of batch 64, the default recipe's distortions and cosine schedule. */
async function losses(engine: StepEngine, steps: number, augment = true): Promise<number[]> {
  const recipe = RECIPES.default;
  const options: BatchOptions = {
    batchSize: 64,
    shuffle: true,
    seed: 0,
    epoch: 1,
    augment: augmentationFor(recipe, augment),
  };
  const result: number[] = [];
  let batches = engine.batches(options);
  for (let step = 0; step < steps; step++) {
    let next = batches.next();
    if (next.done) {
      batches = engine.batches({ ...options, epoch: (options.epoch ?? 0) + step });
      next = batches.next();
    }
    const rate = learningRateAt(recipe.schedule, recipe.learningRate, step, steps);
    result.push(await engine.step(next.value, rate));
  }
  return result;
}

/** The engines a one-thread run on the cpu backend can take: the replica one and the GPU one. */
async function bothEngines(seed: number) {
  const models = [LeNet5.create({ seed }), LeNet5.create({ seed })] as const;
  const common = { modelOptions: { seed }, learningRate: 3e-3, trainSplit: train };
  const replicas = await createEngine({ ...common, model: models[0], workers: 1, backend: 'cpu' });
  const gpu = await createGpuEngine({ ...common, model: models[1] });
  return {
    models,
    engines: [replicas, gpu] as const,
    async dispose() {
      await Promise.all([replicas.dispose(), gpu.dispose()]);
      for (const model of models) model.dispose();
    },
  };
}

describe('the GPU engine, on the cpu backend (stock ops make its batches)', () => {
  it('is what a one-thread run takes on webgpu and cuda, and only there', () => {
    expect(usesGpuEngine('webgpu', 1)).toBe(true);
    expect(usesGpuEngine('cuda', 1)).toBe(true);
    expect(usesGpuEngine('webgpu', 2)).toBe(false);
    expect(usesGpuEngine('wasm', 1)).toBe(false);
    expect(usesGpuEngine('cpu', 1)).toBe(false);
  });

  it('gives the losses of the replica engine for the default recipe, up to float rounding', async () => {
    const run = await bothEngines(3);
    try {
      const [expected, actual] = [await losses(run.engines[0], 5), await losses(run.engines[1], 5)];
      for (let i = 0; i < 5; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-5);
      await run.engines[0].syncModel();
      const evaluations = await Promise.all(run.engines.map((engine) => engine.evaluate(test)));
      expect(evaluations[1]!.loss).toBeCloseTo(evaluations[0]!.loss, 4);
      expect(evaluations[1]!.count).toBe(300);
    } finally {
      await run.dispose();
    }
  });

  it('without distortions trains exactly as the replica engine does, bit for bit', async () => {
    const run = await bothEngines(4);
    try {
      const expected = await losses(run.engines[0], 4, false);
      expect(await losses(run.engines[1], 4, false)).toEqual(expected);
      await run.engines[0].syncModel();
      const weights = run.models.map((model) => model.variables().map((v) => v.dataSync()));
      expect(weights[1]).toEqual(weights[0]);
      // Adam's moments too (their names differ only by the model's instance number).
      const states = await Promise.all(run.engines.map((engine) => engine.optimizerState()));
      const shapes = states.map((state) => state.specs.map((spec) => spec.shape));
      expect(shapes[1]).toEqual(shapes[0]);
      expect(new Uint8Array(states[1]!.data)).toEqual(new Uint8Array(states[0]!.data));
    } finally {
      await run.dispose();
    }
  });

  it('leaves tf.memory() unchanged by every step and every evaluation', async () => {
    const model = LeNet5.create({ seed: 5 });
    const engine = await createGpuEngine({ model, learningRate: 1e-3, trainSplit: train });
    try {
      await losses(engine, 1); // the first step makes Adam's moments, which stay
      const before = tf.memory().numTensors;
      await losses(engine, 2);
      expect(tf.memory().numTensors).toBe(before);
      await engine.evaluate(test, { mistakes: 10 });
      const evaluated = tf.memory().numTensors;
      await engine.evaluate(test);
      expect(tf.memory().numTensors).toBe(evaluated);
    } finally {
      await engine.dispose();
      model.dispose();
    }
  });

  it('resumed from a checkpoint, ends with the bytes of a run that was never stopped', async () => {
    // The default recipe's data and distortions at a constant rate, so a 1-epoch run then schedules
    // its steps as the 2-epoch one does.
    const recipe: Recipe = { ...RECIPES.default, schedule: 'constant' };
    const settings: TrainSettings = {
      recipe: recipe.name,
      batchSize: 64,
      learningRate: 3e-3,
      seed: 1,
      activation: 'tanh',
      pooling: 'avg',
      limit: train.count,
      data: 'embedded',
      augment: true,
    };
    const fresh: TrainingState = { epoch: 0, step: 0, elapsedSeconds: 0, settings, history: [] };
    const runTo = async (out: string, epochs: number, resume: boolean) => {
      const loaded = resume ? await loadCheckpoint(out) : undefined;
      const model = loaded?.model ?? LeNet5.create({ seed: settings.seed });
      const engine = await createGpuEngine({
        model,
        learningRate: settings.learningRate,
        optimizerState: loaded?.optimizerState,
        trainSplit: train,
      });
      try {
        await runEpochs({
          out,
          backend: 'cpu',
          settings,
          recipe,
          epochs,
          trainSplit: train,
          testSplit: test,
          testImages,
          model,
          engine,
          state: loaded?.state ?? fresh,
        });
      } finally {
        await engine.dispose();
        model.dispose();
      }
    };
    const [straight, stopped] = await Promise.all([
      mkdtemp(join(tmpdir(), 'lenet-gpu-straight-')),
      mkdtemp(join(tmpdir(), 'lenet-gpu-stopped-')),
    ]);
    dirs.push(straight, stopped);
    await runTo(straight, 2, false);
    await runTo(stopped, 1, false);
    await runTo(stopped, 2, true);
    const weights = (dir: string) => readFile(join(dir, 'model', 'weights.bin'));
    expect(Buffer.compare(await weights(stopped), await weights(straight))).toBe(0);
    const checkpoint = (dir: string) =>
      readFile(join(dir, 'checkpoints', 'epoch-002', 'optimizer', 'weights.bin'));
    expect(Buffer.compare(await checkpoint(stopped), await checkpoint(straight))).toBe(0);
  });
});

const noSwiftShader = !process.env.VK_ICD_FILENAMES && !existsSync(SWIFTSHADER_ICD);
describe.skipIf(noSwiftShader)(
  `the GPU engine on webgpu (Dawn)${noSwiftShader ? ` (SKIPPED: ${SWIFTSHADER_ICD} missing)` : ''}`,
  () => {
    afterAll(() => {
      releaseBackend();
    });

    it('trains with the losses the replica engine has on the cpu backend, within float rounding', async () => {
      const cpuModel = LeNet5.create({ seed: 6 });
      const cpu = await createEngine({
        model: cpuModel,
        modelOptions: { seed: 6 },
        learningRate: 3e-3,
        workers: 1,
        backend: 'cpu',
        trainSplit: train,
      });
      const expected = await losses(cpu, 3);
      await cpu.dispose();
      cpuModel.dispose();

      const choice = await useBackend('webgpu');
      expect(choice.name).toBe('webgpu');
      const model = LeNet5.create({ seed: 6 });
      const engine = await createEngine({
        model,
        modelOptions: { seed: 6 },
        learningRate: 3e-3,
        workers: 1,
        backend: 'webgpu',
        trainSplit: train,
      });
      try {
        expect(engine.description).toMatch(/training set on the device/);
        const actual = await losses(engine, 3);
        for (let i = 0; i < 3; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 4);
        const before = tf.memory().numTensors;
        await losses(engine, 1);
        expect(tf.memory().numTensors).toBe(before);
        const evaluation = await engine.evaluate(test);
        expect(evaluation.count).toBe(300);
      } finally {
        await engine.dispose();
        model.dispose();
      }
    });
  },
);
