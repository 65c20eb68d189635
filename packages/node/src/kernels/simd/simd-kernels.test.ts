import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, relativeError } from '../../test-utils/random';
import { registerWasmTrainingKernels } from '../wasm-kernels';
import { simdKernelsFor } from './simd-module';

/** `compute` on the cpu backend and on wasm (with our kernels), on the same inputs. */
async function onBackends(compute: () => Float32Array): Promise<{ cpu: Float32Array; wasm: Float32Array }> {
  await tf.setBackend('cpu');
  const cpu = compute();
  await tf.setBackend('wasm');
  const wasm = compute();
  return { cpu, wasm };
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

describe('the SIMD kernel module', () => {
  it('instantiates on the Node wasm backend’s memory, so the kernels below run in SIMD, not the fallback', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const kernels = simdKernelsFor(backend);
    expect(kernels).toBeDefined();
    expect(simdKernelsFor(backend)).toBe(kernels); // one instance per memory
  });
});

describe('SIMD Tanh', () => {
  const special = [0, -0, 1e-30, -1e-7, 0.124, 0.125, 0.126, -0.125, 1, -3.5, 8.99, 9, 9.5, -20, 88, -1e30];
  it.each([1, 2, 3, 4, 5, 7, 1000, 28 * 28 * 6 * 3 + 3])(
    'matches Math.tanh within 3e-7 on %i values',
    async (n) => {
      const values = randomValues(n, n).map((v, i) => (i % 3 === 0 ? v * 12 : v));
      values.set(special.slice(0, n));
      const { cpu, wasm } = await onBackends(() =>
        tf.tidy(() => tf.tanh(tf.tensor1d(values)).dataSync() as Float32Array),
      );
      for (let i = 0; i < n; i++) {
        expect(Math.abs(wasm[i]! - cpu[i]!), `tanh(${values[i]})`).toBeLessThanOrEqual(
          3e-7 * Math.max(1e-30, Math.abs(cpu[i]!)) + 1e-37,
        );
      }
      expect(Object.is(wasm[1], n > 1 ? -0 : wasm[1])).toBe(true); // the sign of zero survives
    },
  );

  it('keeps NaN and saturates at ±Infinity', async () => {
    await tf.setBackend('wasm');
    const y = tf.tidy(() => tf.tanh(tf.tensor1d([Number.NaN, Infinity, -Infinity, 0.5])).dataSync());
    expect(Number.isNaN(y[0])).toBe(true);
    expect([y[1], y[2]]).toEqual([1, -1]);
  });

  it('returns an empty tensor for an empty one', async () => {
    await tf.setBackend('wasm');
    const y = tf.tidy(() => tf.tanh(tf.zeros([0, 3])).dataSync());
    expect(y).toHaveLength(0);
  });
});

describe('SIMD AvgPoolGrad', () => {
  type Shape4 = [number, number, number, number];
  const cases: {
    name: string;
    x: Shape4;
    window: [number, number];
    stride: [number, number];
    pad: 'valid' | 'same';
  }[] = [
    { name: 'LeNet S2', x: [4, 28, 28, 6], window: [2, 2], stride: [2, 2], pad: 'valid' },
    { name: 'LeNet S4', x: [4, 10, 10, 16], window: [2, 2], stride: [2, 2], pad: 'valid' },
    { name: '5 channels, 3x2 windows', x: [2, 9, 8, 5], window: [3, 2], stride: [3, 2], pad: 'valid' },
    {
      name: 'rows and columns no window covers',
      x: [3, 5, 7, 3],
      window: [2, 2],
      stride: [2, 2],
      pad: 'valid',
    },
    {
      name: 'overlapping windows (stock kernel)',
      x: [2, 7, 7, 4],
      window: [3, 3],
      stride: [1, 1],
      pad: 'same',
    },
  ];
  it.each(cases)('gives the cpu backend’s gradient within 1e-6 ($name)', async (c) => {
    const { cpu, wasm } = await onBackends(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(c.x), 3), c.x);
        const y = tf.avgPool(x, c.window, c.stride, c.pad);
        const dy = tf.tensor4d(randomValues(y.size, 4), y.shape);
        return tf
          .grad((input: tf.Tensor) =>
            tf.sum(tf.mul(tf.avgPool(input as tf.Tensor4D, c.window, c.stride, c.pad), dy)),
          )(x)
          .dataSync() as Float32Array;
      }),
    );
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-6);
  });
});

describe('SIMD kernels and tensor memory', () => {
  it('leave tf.memory() as they found it, step after step', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomValues(2 * 12 * 12 * 3, 5), [2, 12, 12, 3]);
    const filter = tf.tensor4d(randomValues(5 * 5 * 3 * 9, 6), [5, 5, 3, 9]);
    const step = () =>
      tf.tidy(() =>
        tf
          .grads((input: tf.Tensor, f: tf.Tensor) =>
            tf.sum(
              tf.avgPool(
                tf.tanh(tf.conv2d(input as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid')),
                2,
                2,
                'valid',
              ),
            ),
          )([x, filter])
          .map((g) => g.dataSync()),
      );
    step();
    const before = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(buffers);
    tf.dispose([x, filter]);
  });
});
