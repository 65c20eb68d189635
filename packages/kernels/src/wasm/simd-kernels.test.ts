import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, relativeError } from '../../../../test-utils/random';
import { onCpuAndWasm, useBackendWithKernels } from '../test-utils/backends';
import { simdKernelsFor } from './wasm-module';

beforeAll(async () => {
  await useBackendWithKernels('wasm');
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
    'matches Math.tanh within 4e-7 on %i values',
    async (n) => {
      const values = randomValues(n, n).map((v, i) => (i % 3 === 0 ? v * 12 : v));
      values.set(special.slice(0, n));
      const { cpu, wasm } = await onCpuAndWasm(() =>
        tf.tidy(() => tf.tanh(tf.tensor1d(values)).dataSync() as Float32Array),
      );
      for (let i = 0; i < n; i++) {
        expect(Math.abs(wasm[i]! - cpu[i]!), `tanh(${values[i]})`).toBeLessThanOrEqual(
          4e-7 * Math.max(1e-30, Math.abs(cpu[i]!)) + 1e-37,
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
    const { cpu, wasm } = await onCpuAndWasm(() =>
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

describe('SIMD Conv2D of a one-channel input', () => {
  type Shape4 = [number, number, number, number];
  it.each<[string, Shape4, Shape4, 'valid' | 'same']>([
    ['LeNet C1', [3, 32, 32, 1], [5, 5, 1, 6], 'valid'],
    ['rows of 9 (an overlapping last tile), 4 channels', [2, 7, 13, 1], [3, 5, 1, 4], 'valid'],
    ['1, 2, 3 and 7 channels', [2, 12, 12, 1], [5, 5, 1, 7], 'valid'],
    ['one channel out, rows narrower than 8 (scalar loop)', [2, 9, 10, 1], [4, 4, 1, 1], 'valid'],
    ['two output channels', [1, 10, 16, 1], [2, 3, 1, 2], 'valid'],
    ['three output channels', [1, 10, 16, 1], [2, 3, 1, 3], 'valid'],
    ["'same' padding (stock kernel)", [2, 9, 9, 1], [3, 3, 1, 5], 'same'],
  ])('gives the cpu backend’s convolution within 1e-5 (%s)', async (_name, xShape, filterShape, pad) => {
    const { cpu, wasm } = await onCpuAndWasm(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(xShape), 12), xShape);
        const filter = tf.tensor4d(randomValues(tf.util.sizeFromShape(filterShape), 13), filterShape);
        return tf.conv2d(x, filter, 1, pad).dataSync() as Float32Array;
      }),
    );
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
  });
});

describe('SIMD AvgPool', () => {
  type Shape4 = [number, number, number, number];
  it.each<[string, Shape4, [number, number], [number, number], 'valid' | 'same']>([
    ['LeNet S2', [4, 28, 28, 6], [2, 2], [2, 2], 'valid'],
    ['LeNet S4', [4, 10, 10, 16], [2, 2], [2, 2], 'valid'],
    ['3x2 windows, 7 channels, leftover rows and columns', [2, 10, 9, 7], [3, 2], [3, 2], 'valid'],
    ['overlapping windows (stock kernel)', [2, 7, 7, 4], [3, 3], [1, 1], 'same'],
  ])('gives the cpu backend’s pool within 1e-6 (%s)', async (_name, shape, window, stride, pad) => {
    const { cpu, wasm } = await onCpuAndWasm(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(shape), 8), shape);
        return tf.avgPool(x, window, stride, pad).dataSync() as Float32Array;
      }),
    );
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-6);
  });
});

describe('SIMD Sum over all axes but the last', () => {
  it.each<[number[], number[] | number, boolean]>([
    [[64, 28, 28, 6], [0, 1, 2], false], // C1's bias gradient
    [[64, 10, 10, 16], [0, 1, 2], true],
    [[33, 84], 0, false], // F6's bias gradient, rows not a multiple of 4
    [[3, 5, 7, 9], [2, 0, 1], false], // axes in any order, 9 channels
    [[4, 6], 1, false], // the last axis (stock kernel)
    [[2, 3, 4], [0, 2], true], // not the leading axes (stock kernel)
  ])(
    'gives the cpu backend’s sum within 1e-5 (shape %j, axes %j, keepDims %s)',
    async (shape, axes, keepDims) => {
      const { cpu, wasm } = await onCpuAndWasm(() =>
        tf.tidy(() => {
          const x = tf.tensor(randomValues(tf.util.sizeFromShape(shape), 9), shape);
          const sum = tf.sum(x, axes, keepDims);
          return Float32Array.from([...sum.shape, -1, ...sum.dataSync()]);
        }),
      );
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
    },
  );
});

describe('SIMD BatchMatMul', () => {
  it.each<[string, number[], number[], boolean, boolean]>([
    ['F6 forward', [64, 120], [120, 84], false, false],
    ['F6 input gradient (b transposed)', [64, 84], [120, 84], false, true],
    ['F6 weight gradient (a transposed)', [64, 120], [64, 84], true, false],
    ['both transposed, ragged sizes', [7, 5], [11, 7], true, true],
    ['one row, one column', [1, 9], [9, 1], false, false],
    ['batch of one, 3D', [1, 6, 13], [1, 13, 3], false, false],
    ['batched (stock kernel)', [3, 4, 5], [3, 5, 2], false, false],
  ])(
    'gives the cpu backend’s product within 1e-5 (%s)',
    async (_name, aShape, bShape, transposeA, transposeB) => {
      const { cpu, wasm } = await onCpuAndWasm(() =>
        tf.tidy(() => {
          const a = tf.tensor(randomValues(tf.util.sizeFromShape(aShape), 10), aShape);
          const b = tf.tensor(randomValues(tf.util.sizeFromShape(bShape), 11), bShape);
          const product = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transposeA, transposeB);
          return Float32Array.from([...product.shape, -1, ...product.dataSync()]);
        }),
      );
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
    },
  );
});

describe('SIMD bias Add', () => {
  it.each<[number[], number[]]>([
    [[64, 28, 28, 6], [6]], // C1's bias: 6 does not divide into vectors of 4
    [[3, 10, 10, 16], [16]],
    [[7, 84], [84]],
    [[5, 10], [10]], // 50 values: a scalar tail
    [[9], [2, 3, 9]], // the bias first
    [
      [2, 3],
      [2, 1],
    ], // other broadcasting (stock kernel)
    [
      [4, 4],
      [4, 4],
    ], // no broadcasting (stock kernel)
  ])('gives the cpu backend’s sum exactly (%j + %j)', async (aShape, bShape) => {
    const { cpu, wasm } = await onCpuAndWasm(() =>
      tf.tidy(() => {
        const a = tf.tensor(randomValues(tf.util.sizeFromShape(aShape), 14), aShape);
        const b = tf.tensor(randomValues(tf.util.sizeFromShape(bShape), 15), bShape);
        const sum = tf.add(a, b);
        return Float32Array.from([...sum.shape, -1, ...sum.dataSync()]);
      }),
    );
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
  });
});

describe('shared Identity', () => {
  it('gives a clone that shares the data and outlives the original', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const buffers = tf.backend().numDataIds();
    const copy = tf.clone(x);
    expect(tf.backend().numDataIds()).toBe(buffers); // no new buffer
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3, 4]);
    copy.dispose();
    expect(tf.backend().numDataIds()).toBe(buffers - 1);
  });
});

describe('SIMD kernels and memory', () => {
  it('leave tf.memory() and the wasm heap as they found them, step after step', async () => {
    await tf.setBackend('wasm');
    // Big enough that scratch space left behind (padded dy, sums, filters) would grow the heap.
    const x = tf.tensor4d(randomValues(64 * 14 * 14 * 6, 5), [64, 14, 14, 6]);
    const filter = tf.tensor4d(randomValues(5 * 5 * 6 * 16, 6), [5, 5, 6, 16]);
    const bias = tf.tensor1d(randomValues(16, 7));
    const weights = tf.tensor2d(randomValues(16 * 5 * 5 * 10, 8), [16 * 5 * 5, 10]);
    const step = () =>
      tf.tidy(() =>
        tf
          .grads((input: tf.Tensor, f: tf.Tensor, b: tf.Tensor, w: tf.Tensor) => {
            const maps = tf.tanh(tf.add(tf.conv2d(input as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), b));
            const pooled = tf.avgPool(maps as tf.Tensor4D, 2, 2, 'valid');
            return tf.sum(tf.matMul(tf.reshape(pooled, [64, 400]), w as tf.Tensor2D));
          })([x, filter, bias, weights])
          .map((g) => g.dataSync()),
      );
    for (let i = 0; i < 3; i++) step();
    const before = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    const heap = ((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer
      .byteLength;
    for (let i = 0; i < 30; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(buffers);
    expect(
      ((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer.byteLength,
    ).toBe(heap);
    tf.dispose([x, filter, bias, weights]);
  });
});
