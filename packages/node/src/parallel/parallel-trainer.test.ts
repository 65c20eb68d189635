import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MNIST_MEAN, MNIST_STD, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { createOptimizer, flatWeights, LeNet5, trainStep } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../../../../test-utils/random';
import { type NodeBackendName, useBackend } from '../backends';
import { createParallelTrainer } from './parallel-trainer';

// Workers run this package's TypeScript source through a small loader (other workspace packages
// resolve to their build, which turbo makes before tests).
const LOADER = fileURLToPath(new URL('../test-utils/register-typescript-loader.mjs', import.meta.url));
const execArgv = ['--import', LOADER];

const BATCH = 64;
const PIXELS = 32 * 32;
let images: Float32Array;
let labels: Uint8Array;

beforeAll(async () => {
  expect((await useBackend('wasm')).name).toBe('wasm');
  const mnist = await loadEmbeddedMnist();
  const count = 3 * BATCH;
  images = preprocessImages(mnist.train.images.subarray(0, count * 784), count, {
    resize: 'pad',
    normalize: { mean: MNIST_MEAN, std: MNIST_STD },
  });
  labels = mnist.train.labels.subarray(0, count);
});

const batch = (step: number) => ({
  x: images.subarray(step * BATCH * PIXELS, (step + 1) * BATCH * PIXELS),
  y: labels.subarray(step * BATCH, (step + 1) * BATCH),
});

describe('createParallelTrainer', () => {
  it('two wasm workers give the weights of one-thread training on the whole batch', async () => {
    const trainer = await createParallelTrainer({ workers: 2, modelOptions: { seed: 1 }, execArgv });
    const model = LeNet5.create({ seed: 1 });
    const optimizer = createOptimizer('adam', 1e-3);
    try {
      for (let step = 0; step < 3; step++) {
        const { x, y } = batch(step);
        const parallelLoss = await trainer.step(x, y, BATCH);
        const loss = tf.tidy(() => ({
          x: tf.tensor4d(x, [BATCH, 32, 32, 1]),
          y: tf.tensor1d(Int32Array.from(y), 'int32'),
        }));
        const singleLoss = await trainStep(model, optimizer, loss.x, loss.y);
        tf.dispose([loss.x, loss.y]);
        expect(parallelLoss).toBeCloseTo(singleLoss, 5);
      }
      const expected = await flatWeights(model);
      const actual = await trainer.getWeights();
      expect(relativeError(actual, expected)).toBeLessThan(1e-5);
      expect(relativeError(actual, await flatWeights(LeNet5.create({ seed: 1 })))).toBeGreaterThan(1e-4);
    } finally {
      await trainer.dispose();
      model.dispose();
      optimizer.dispose();
    }
  });

  it('surfaces a worker that cannot start its backend as a clear error', async () => {
    await expect(
      createParallelTrainer({ workers: 2, backend: 'no-such-backend' as NodeBackendName, execArgv }),
    ).rejects.toThrow(/Replica 0 failed: could not start the 'no-such-backend' backend: Unknown backend/);
  });

  it('refuses bad input and use after dispose', async () => {
    const trainer = await createParallelTrainer({ workers: 1, execArgv });
    await expect(trainer.step(new Float32Array(5), new Uint8Array(1), 1)).rejects.toThrow(/1024 floats/);
    await trainer.dispose();
    await trainer.dispose();
    await expect(trainer.step(images, labels, 1)).rejects.toThrow(/closed/);
  });

  it('lets the process exit once disposed', () => {
    const trainerModule = new URL('./parallel-trainer.ts', import.meta.url).href;
    const script = `
      const { createParallelTrainer } = await import(${JSON.stringify(trainerModule)});
      const trainer = await createParallelTrainer({ workers: 2, execArgv: ${JSON.stringify(execArgv)} });
      await trainer.step(new Float32Array(4 * 1024), new Uint8Array([1, 2, 3, 4]), 4);
      await trainer.dispose();
      console.log('disposed');`;
    const child = spawnSync(process.execPath, [...execArgv, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('disposed');
    expect(child.status).toBe(0);
  });
});
