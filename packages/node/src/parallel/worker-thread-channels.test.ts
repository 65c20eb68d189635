import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MNIST_MEAN, MNIST_STD, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { createOptimizer, evaluate, LeNet5, trainStep } from '@lenet/ops';
import { flatWeights, ParallelCoordinator, unflattenWeights } from '@lenet/ops/parallel';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../../../../test-utils/random';
import { type NodeBackendName, useBackend } from '../backends';
import { workerThreadChannels } from './worker-thread-channels';

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

const ADAM = { name: 'adam', learningRate: 1e-3 } as const;

describe('workerThreadChannels', () => {
  it('two wasm workers give the weights of one-thread training on the whole batch', async () => {
    const channels = await workerThreadChannels({ workers: 2, execArgv });
    expect(channels).toHaveLength(2);
    const coordinator = await ParallelCoordinator.start(channels, {
      modelOptions: { seed: 1 },
      optimizer: ADAM,
    });
    const model = LeNet5.create({ seed: 1 });
    const optimizer = createOptimizer('adam', 1e-3);
    try {
      for (let step = 0; step < 3; step++) {
        const { x, y } = batch(step);
        const parallelLoss = await coordinator.step(x, y, BATCH);
        const tensors = tf.tidy(() => ({
          x: tf.tensor4d(x, [BATCH, 32, 32, 1]),
          y: tf.tensor1d(Int32Array.from(y), 'int32'),
        }));
        const singleLoss = await trainStep(model, optimizer, tensors.x, tensors.y);
        tf.dispose([tensors.x, tensors.y]);
        expect(parallelLoss).toBeCloseTo(singleLoss, 5);
      }
      const expected = await flatWeights(model);
      const actual = await coordinator.getWeights();
      expect(relativeError(actual, expected)).toBeLessThan(1e-5);
      expect(relativeError(actual, await flatWeights(LeNet5.create({ seed: 1 })))).toBeGreaterThan(1e-4);
    } finally {
      await coordinator.close();
      model.dispose();
      optimizer.dispose();
    }
  });

  it("two wasm workers give this thread's logits and evaluation bit for bit, for uneven and tiny batches", async () => {
    const coordinator = await ParallelCoordinator.start(
      await workerThreadChannels({ workers: 2, execArgv }),
      {
        modelOptions: { seed: 3 },
        optimizer: ADAM,
      },
    );
    const model = LeNet5.create({ seed: 3 });
    const count = 3 * BATCH;
    const ownLogits = async (n: number) => {
      const logits = tf.tidy(() =>
        model.forward(tf.tensor4d(images.subarray(0, n * PIXELS), [n, 32, 32, 1])),
      );
      const values = await logits.data();
      logits.dispose();
      return values;
    };
    try {
      const before = tf.memory().numTensors;
      // 192 = 96 + 96; 191 = 96 + 95; 1 leaves the second worker without a shard.
      for (const n of [count, count - 1, 1])
        expect(await coordinator.logits(images, n)).toEqual(await ownLogits(n));
      // Requests in flight at once each read their own images: the shared buffers that carry shards
      // to the workers are lent per request, not per worker.
      const [whole, fewer] = await Promise.all([
        coordinator.logits(images, count),
        coordinator.logits(images, count - 7),
      ]);
      expect(whole).toEqual(await ownLogits(count));
      expect(fewer).toEqual(await ownLogits(count - 7));
      // After a step (its update rides along with the first request of the evaluation), with mistakes.
      await coordinator.step(batch(0).x, batch(0).y, BATCH);
      const result = await coordinator.evaluate(images, labels, count, { mistakes: 20, batchSize: 50 });
      model.setWeights(unflattenWeights(await coordinator.getWeights()));
      const x = tf.tensor4d(images.subarray(0, count * PIXELS), [count, 32, 32, 1]);
      const y = tf.tensor1d(Int32Array.from(labels.subarray(0, count)), 'int32');
      const expected = await evaluate(model, [{ x, y }], { mistakes: 20 });
      tf.dispose([x, y]);
      expect(expected.mistakes).toHaveLength(20);
      expect(result).toEqual(expected);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await coordinator.close();
      model.dispose();
    }
  });

  it('says which worker could not start its backend, and why', async () => {
    await expect(
      workerThreadChannels({ workers: 2, backend: 'no-such-backend' as NodeBackendName, execArgv }),
    ).rejects.toThrow(/Training worker 0 could not start the 'no-such-backend' backend: Unknown backend/);
  });

  it('refuses a bad worker count, bad input and use after close', async () => {
    await expect(workerThreadChannels({ workers: 0 })).rejects.toThrow(/positive integer \(got 0\)/);
    const coordinator = await ParallelCoordinator.start(
      await workerThreadChannels({ workers: 1, execArgv }),
      {
        modelOptions: {},
        optimizer: ADAM,
      },
    );
    await expect(coordinator.step(new Float32Array(5), new Uint8Array(1), 1)).rejects.toThrow(/1024 floats/);
    await coordinator.close();
    await coordinator.close();
    await expect(coordinator.step(images, labels, 1)).rejects.toThrow(/closed/);
  });

  it('leaves no thread running after a failed start or a close, so the process exits', () => {
    const channelsModule = new URL('./worker-thread-channels.ts', import.meta.url).href;
    const script = `
      const { workerThreadChannels } = await import(${JSON.stringify(channelsModule)});
      const execArgv = ${JSON.stringify(execArgv)};
      await workerThreadChannels({ workers: 2, backend: 'no-such-backend', execArgv }).catch(() => console.log('refused'));
      const channels = await workerThreadChannels({ workers: 2, execArgv });
      const setup = { modelOptions: {}, optimizer: { name: 'adam', learningRate: 1e-3 } };
      const replies = await Promise.all(channels.map((channel) => channel.request({ type: 'setup', setup })));
      await Promise.all(channels.map((channel) => channel.close()));
      console.log(replies.map((reply) => reply.type).join(' '));`;
    const child = spawnSync(process.execPath, [...execArgv, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim().split('\n')).toEqual(['refused', 'ready ready']);
    expect(child.status).toBe(0);
  });
});
