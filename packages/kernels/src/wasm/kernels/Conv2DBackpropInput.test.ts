import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, relativeError } from '../../../../../test-utils/random';
import { registerKernels } from '../../register-kernels';
import { onCpuAndWasm, useBackendWithKernels } from '../../test-utils/backends';

type Shape4 = [number, number, number, number];

/** d(Σ conv2d(x, filter) · dy)/dx: the input gradient, through the registered Conv2DBackpropInput. */
function inputGradient(
  xShape: Shape4,
  filterShape: Shape4,
  stride: number,
  pad: 'valid' | 'same',
): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(xShape), 1), xShape);
    const filter = tf.tensor4d(randomValues(tf.util.sizeFromShape(filterShape), 2), filterShape);
    const outShape = tf.conv2d(x, filter, stride, pad).shape;
    const dy = tf.tensor4d(randomValues(tf.util.sizeFromShape(outShape), 3), outShape);
    const gradient = tf.grad((input: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, filter, stride, pad), dy)),
    );
    return gradient(x).dataSync() as Float32Array;
  });
}

const cases: { name: string; x: Shape4; filter: Shape4; stride: number; pad: 'valid' | 'same' }[] = [
  { name: 'LeNet C3, batch 16', x: [16, 14, 14, 6], filter: [5, 5, 6, 16], stride: 1, pad: 'valid' },
  {
    name: 'LeNet C5, batch 16',
    x: [16, 5, 5, 16],
    filter: [5, 5, 16, 120],
    stride: 1,
    pad: 'valid',
  },
  { name: 'LeNet C1, batch 3', x: [3, 32, 32, 1], filter: [5, 5, 1, 6], stride: 1, pad: 'valid' },
  { name: "'same' padding, even filter", x: [3, 9, 7, 2], filter: [4, 3, 2, 5], stride: 1, pad: 'same' },
  { name: 'batch 1, one channel', x: [1, 8, 8, 1], filter: [3, 3, 1, 1], stride: 1, pad: 'valid' },
  // The SIMD scatter works on 4 pixels (one from each of 4 output rows) by 8 values of a filter row: ragged edges of both.
  { name: '5 pixels, a 3-value filter row', x: [1, 3, 7, 1], filter: [3, 3, 1, 2], stride: 1, pad: 'valid' },
  {
    name: '7 channels in, 9 out, 13 pixels',
    x: [1, 5, 17, 7],
    filter: [3, 5, 7, 9],
    stride: 1,
    pad: 'valid',
  },
  { name: 'stride 2 (stock fallback)', x: [3, 11, 11, 2], filter: [3, 3, 2, 5], stride: 2, pad: 'valid' },
];

describe('the wasm Conv2DBackpropInput registered by registerKernels', () => {
  beforeAll(async () => {
    await useBackendWithKernels('wasm');
  });

  it.each(cases)('gives the cpu backend’s input gradient within 1e-5 ($name)', async (c) => {
    const { cpu, wasm } = await onCpuAndWasm(() => inputGradient(c.x, c.filter, c.stride, c.pad));
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(cpu, Math.abs))).toBeGreaterThan(0);
  });

  it('replaces the stock kernel once, and frees every intermediate wasm buffer', async () => {
    await tf.setBackend('wasm');
    const registered = tf.getKernel('Conv2DBackpropInput', 'wasm');
    registerKernels();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(registered);

    for (const c of cases) inputGradient(c.x, c.filter, c.stride, c.pad); // warm up
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = tf.backend().numDataIds();
    for (const c of cases) inputGradient(c.x, c.filter, c.stride, c.pad);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(tf.backend().numDataIds()).toBe(buffersBefore);
  });
});
