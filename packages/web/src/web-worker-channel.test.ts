import { createOptimizer, LeNet5, trainStep } from '@lenet/ops';
import { flatWeights, ParallelCoordinator } from '@lenet/ops/parallel';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { relativeError } from '../../../test-utils/random';
import { setupBackend } from './backend';
import type { ReplicaWorker, ReplicaWorkerScope } from './replica-worker-port';
import { serveReplica } from './serve-replica';
import { webWorkerChannel } from './web-worker-channel';
import { webWorkerChannels } from './web-worker-channels';

// Node has no Web Workers, but it has MessageChannel, whose ports post and clone messages as a worker
// does. Each "worker" here is one end of a channel, with the real replica code on the other end.

/** The page's end of a channel, as a worker; `crash` delivers the error event a crashed worker sends. */
function portWorker(port: MessagePort) {
  const errors = new EventTarget();
  const worker = {
    terminated: false,
    postMessage: (message: unknown, transfer: Transferable[]) => port.postMessage(message, transfer),
    addEventListener(type: string, listener: (event: Event) => void) {
      (type === 'error' ? errors : port).addEventListener(type, listener);
    },
    removeEventListener(type: string, listener: (event: Event) => void) {
      (type === 'error' ? errors : port).removeEventListener(type, listener);
    },
    terminate() {
      worker.terminated = true;
      port.close();
    },
    crash: (message: string) => errors.dispatchEvent(Object.assign(new Event('error'), { message })),
  } satisfies ReplicaWorker & Record<string, unknown>;
  port.start();
  return worker;
}

const started: Array<ReturnType<typeof portWorker>> = [];

/** A replica worker: serveReplica on one end of a fresh channel, the other end returned. */
function replicaWorker() {
  const { port1, port2 } = new MessageChannel();
  serveReplica(port2 as unknown as ReplicaWorkerScope);
  port2.start();
  const worker = portWorker(port1);
  started.push(worker);
  return worker;
}

afterEach(() => {
  for (const worker of started.splice(0)) if (!worker.terminated) worker.terminate();
});

async function batchArrays(n: number, seed: number) {
  const x = Float32Array.from({ length: n * 1024 }, (_, i) => Math.sin(i * 0.37 + seed));
  const labels = Int32Array.from({ length: n }, (_, i) => (i + seed) % 10);
  return { x, labels };
}

const SETUP = { modelOptions: { seed: 3 }, optimizer: { name: 'adam', learningRate: 1e-3 } } as const;

describe('webWorkerChannels and webWorkerChannel', () => {
  it('two replicas behind message ports train to the weights of one model on the whole batch', async () => {
    const channels = await webWorkerChannels({ workers: 2, backend: 'cpu', createWorker: replicaWorker });
    expect(tf.getBackend()).toBe('cpu');
    const coordinator = await ParallelCoordinator.start(channels, SETUP);
    const model = LeNet5.create({ seed: 3 });
    const optimizer = createOptimizer('adam', 1e-3);
    for (let step = 0; step < 2; step++) {
      const { x, labels } = await batchArrays(9, step);
      const loss = await coordinator.step(x, labels, 9);
      const xs = tf.tensor4d(x, [9, 32, 32, 1]);
      const ys = tf.tensor1d(labels, 'int32');
      expect(loss).toBeCloseTo(await trainStep(model, optimizer, xs, ys), 5);
      tf.dispose([xs, ys]);
    }
    expect(relativeError(await coordinator.getWeights(), await flatWeights(model))).toBeLessThan(1e-5);
    await coordinator.close();
    expect(started.every((worker) => worker.terminated)).toBe(true);
    model.dispose();
    optimizer.dispose();
  });

  it('says which worker could not start its backend, and terminates every worker', async () => {
    await expect(
      webWorkerChannels({ workers: 2, backend: 'webgpu', createWorker: replicaWorker }),
    ).rejects.toThrow(/Training worker 0 could not start its backend: The webgpu backend cannot run here/);
    expect(started.map((worker) => worker.terminated)).toEqual([true, true]);
    await expect(webWorkerChannels({ workers: 0 })).rejects.toThrow(/positive integer \(got 0\)/);
  });

  it('answers requests sent all at once in order', async () => {
    const [channel] = await webWorkerChannels({ workers: 1, backend: 'cpu', createWorker: replicaWorker });
    const { x, labels } = await batchArrays(2, 5);
    const replies = await Promise.all([
      channel!.request({ type: 'get-weights' }), // before setup: an error reply, and the replica goes on
      channel!.request({ type: 'setup', setup: SETUP }),
      channel!.request({ type: 'gradients', x, labels, count: 2 }, [x.buffer]),
      channel!.request({ type: 'get-weights' }),
    ]);
    expect(replies.map((reply) => reply.type)).toEqual(['error', 'ready', 'gradients', 'weights']);
    expect(x.byteLength).toBe(0); // transferred, not copied
    await channel!.close();
  });

  it('rejects pending and later requests once the worker crashes, and terminates it', async () => {
    const worker = replicaWorker();
    const channel = webWorkerChannel(worker, 1);
    worker.postMessage({ backend: 'cpu' }, []); // what webWorkerChannels sends first
    await new Promise((resolve) => worker.addEventListener('message', resolve)); // its answer
    const pending = channel.request({ type: 'setup', setup: SETUP });
    worker.crash('out of memory');
    await expect(pending).rejects.toThrow('Training worker 1 crashed: out of memory');
    await expect(channel.request({ type: 'get-weights' })).rejects.toThrow(/worker 1 crashed/);
    expect(worker.terminated).toBe(true);
  });

  it('refuses requests after close', async () => {
    const [channel] = await webWorkerChannels({ workers: 1, backend: 'cpu', createWorker: replicaWorker });
    await channel!.close();
    await expect(channel!.request({ type: 'get-weights' })).rejects.toThrow(/worker 0 was closed/);
  });
});

afterEach(async () => {
  await setupBackend({ backend: 'cpu' });
});
