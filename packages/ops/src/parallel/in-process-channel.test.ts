import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../gradients';
import { randomBatchArrays, useCpuBackend } from '../test-utils/cpu';
import { inProcessChannel } from './in-process-channel';
import type { ReplicaReply } from './protocol';

useCpuBackend();

const weightsOf = (reply: ReplicaReply) => {
  if (reply.type !== 'weights') throw new Error(`expected weights, got ${JSON.stringify(reply)}`);
  return reply.weights;
};

describe('inProcessChannel', () => {
  it('answers requests sent all at once one at a time, in order, as a worker does', async () => {
    const channel = inProcessChannel();
    const { x, labels } = randomBatchArrays(4, 1);
    // Not awaited in between: each request must still see everything the earlier ones did.
    const replies = await Promise.all([
      channel.request({
        type: 'setup',
        setup: { modelOptions: { seed: 1 }, optimizer: { name: 'sgd', learningRate: 0.5 } },
      }),
      channel.request({ type: 'get-weights' }),
      channel.request({ type: 'gradients', x, labels, count: 4 }),
      channel.request({ type: 'get-weights' }),
    ]);
    expect(replies.map((reply) => reply.type)).toEqual(['ready', 'weights', 'gradients', 'weights']);
    const gradients = replies[2]!.type === 'gradients' ? replies[2]!.gradients : new Float32Array();
    const [first, second] = [weightsOf(replies[1]!), weightsOf(replies[3]!)];
    expect(second).toEqual(first); // computing gradients does not update the model
    const [applied, after] = await Promise.all([
      channel.request({ type: 'apply', gradients }),
      channel.request({ type: 'get-weights' }),
    ]);
    expect(applied.type).toBe('done');
    // SGD at rate 0.5: every weight moved by exactly -0.5 * its gradient (float32 rounding aside).
    const moved = weightsOf(after);
    for (const i of [0, 1000, 60000]) {
      expect(moved[i]).toBeCloseTo(first[i]! - 0.5 * gradients[i]!, 6);
    }
    expect(moved).not.toEqual(first);
    await channel.close();
  });

  it('answers a failed request with an error and keeps serving', async () => {
    const channel = inProcessChannel();
    const early = await channel.request({ type: 'get-weights' });
    expect(early).toMatchObject({ type: 'error', message: expect.stringMatching(/send a 'setup' request/) });
    await channel.request({
      type: 'setup',
      setup: { modelOptions: {}, optimizer: { name: 'adam', learningRate: 1e-3 } },
    });
    expect((await channel.request({ type: 'get-weights' })).type).toBe('weights');
    await channel.close();
  });

  it('frees its model and optimizer on close, after the requests before it, and refuses later ones', async () => {
    const before = tf.memory().numTensors;
    const channel = inProcessChannel();
    const { x, labels } = randomBatchArrays(2, 2);
    const setup = channel.request({
      type: 'setup',
      setup: { modelOptions: { seed: 2 }, optimizer: { name: 'adam', learningRate: 1e-3 } },
    });
    const gradients = channel.request({ type: 'gradients', x, labels, count: 2 });
    await channel.close();
    expect((await setup).type).toBe('ready');
    expect((await gradients).type).toBe('gradients');
    expect(tf.memory().numTensors).toBe(before);
    await expect(channel.request({ type: 'get-weights' })).rejects.toThrow(/closed/);
  });
});
