import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, relativeError } from '../../../../test-utils/random';
import { registerKernels } from '../register-kernels';
import { onCpuAndWasm, useBackendWithKernels } from '../test-utils/backends';

type Shape4 = [number, number, number, number];

function filterGradient(
  xShape: Shape4,
  filterShape: Shape4,
  stride: number,
  pad: 'valid' | 'same',
): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(xShape), 11), xShape);
    const filter = tf.tensor4d(randomValues(tf.util.sizeFromShape(filterShape), 12), filterShape);
    const outShape = tf.conv2d(x, filter, stride, pad).shape;
    const dy = tf.tensor4d(randomValues(tf.util.sizeFromShape(outShape), 13), outShape);
    const gradient = tf.grad((f: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, pad), dy)),
    );
    return gradient(filter).dataSync() as Float32Array;
  });
}

const cases: { name: string; x: Shape4; filter: Shape4; stride: number; pad: 'valid' | 'same' }[] = [
  { name: 'LeNet C1, batch 16', x: [16, 32, 32, 1], filter: [5, 5, 1, 6], stride: 1, pad: 'valid' },
  { name: 'LeNet C3, batch 16', x: [16, 14, 14, 6], filter: [5, 5, 6, 16], stride: 1, pad: 'valid' },
  { name: 'LeNet C5, batch 16', x: [16, 5, 5, 16], filter: [5, 5, 16, 120], stride: 1, pad: 'valid' },
  { name: 'batch 1, one channel', x: [1, 8, 8, 1], filter: [3, 3, 1, 1], stride: 1, pad: 'valid' },
  // The SIMD kernel works in tiles of 4 filter rows by 8 output channels: ragged edges of both.
  { name: '9 filter rows, 5 channels', x: [3, 7, 6, 1], filter: [3, 3, 1, 5], stride: 1, pad: 'valid' },
  { name: '42 filter rows, 17 channels', x: [2, 9, 11, 3], filter: [2, 7, 3, 17], stride: 1, pad: 'valid' },
  {
    name: 'a 1x1 output from a non-square filter',
    x: [5, 4, 3, 2],
    filter: [4, 3, 2, 9],
    stride: 1,
    pad: 'valid',
  },
  { name: "'same' padding", x: [3, 9, 7, 2], filter: [4, 3, 2, 5], stride: 1, pad: 'same' },
  { name: 'stride 2 (JS loop path)', x: [3, 11, 11, 2], filter: [3, 3, 2, 5], stride: 2, pad: 'valid' },
  { name: "stride 2, 'same' (JS loop path)", x: [2, 10, 9, 3], filter: [4, 3, 3, 2], stride: 2, pad: 'same' },
];

describe('registerKernels', () => {
  beforeAll(async () => {
    await useBackendWithKernels('wasm');
  });

  it.each(cases)('gives the cpu backend’s filter gradient within 1e-5 ($name)', async (c) => {
    const { cpu, wasm } = await onCpuAndWasm(() => [filterGradient(c.x, c.filter, c.stride, c.pad)]);
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(1e-5);
  });

  it('handles NCHW inputs (JS loop path)', async () => {
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 4, 5] };
    const { cpu, wasm } = await onCpuAndWasm(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(2 * 4 * 8 * 8, 14), [2, 4, 8, 8]);
        const dy = tf.tensor4d(randomValues(2 * 5 * 6 * 6, 15), [2, 5, 6, 6]);
        const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
        return [dW.dataSync() as Float32Array];
      }),
    );
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(1e-5);
  });

  it('frees its intermediate wasm buffers and is idempotent', async () => {
    await tf.setBackend('wasm');
    const registered = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    registerKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(registered);

    filterGradient([2, 12, 12, 3], [5, 5, 3, 4], 1, 'valid'); // warm up lazily created state
    // The kernel calls wasm kernels directly, so the engine does not see its intermediates:
    // count the buffers the wasm backend itself holds.
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = tf.backend().numDataIds();
    filterGradient([2, 12, 12, 3], [5, 5, 3, 4], 1, 'valid');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(tf.backend().numDataIds()).toBe(buffersBefore);
  });

  it('lets wasm compute every gradient of a small convnet, as cpu does', async () => {
    // conv 5x5 -> tanh -> avg-pool -> conv 3x3 -> tanh -> dense -> softmax cross-entropy
    const shapes: Record<string, number[]> = {
      c1: [5, 5, 1, 4],
      b1: [4],
      c2: [3, 3, 4, 8],
      b2: [8],
      dense: [8 * 4 * 4, 10],
      bias: [10],
    };
    const names = Object.keys(shapes);
    const { cpu, wasm } = await onCpuAndWasm(() =>
      tf.tidy(() => {
        const images = tf.tensor4d(randomValues(6 * 16 * 16, 21), [6, 16, 16, 1]);
        const labels = tf.oneHot(tf.tensor1d([0, 3, 9, 1, 4, 7], 'int32'), 10);
        const params = names.map((name, i) =>
          tf.tensor(randomValues(tf.util.sizeFromShape(shapes[name]!), 30 + i), shapes[name]),
        );
        const loss = (
          c1: tf.Tensor,
          b1: tf.Tensor,
          c2: tf.Tensor,
          b2: tf.Tensor,
          w: tf.Tensor,
          b: tf.Tensor,
        ) => {
          let h = tf.tanh(tf.add(tf.conv2d(images, c1 as tf.Tensor4D, 1, 'valid'), b1)) as tf.Tensor4D;
          h = tf.avgPool(h, 2, 2, 'valid');
          h = tf.tanh(tf.add(tf.conv2d(h, c2 as tf.Tensor4D, 1, 'valid'), b2)) as tf.Tensor4D;
          const logits = tf.add(tf.matMul(tf.reshape(h, [6, 8 * 4 * 4]), w as tf.Tensor2D), b);
          return tf.losses.softmaxCrossEntropy(labels, logits);
        };
        const gradients = tf.grads((...p: tf.Tensor[]) => loss(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!))(
          params,
        );
        return gradients.map((g) => g.dataSync() as Float32Array);
      }),
    );
    expect(wasm).toHaveLength(names.length);
    names.forEach((name, i) => {
      expect(relativeError(wasm[i]!, cpu[i]!), name).toBeLessThan(1e-5);
      expect(Math.max(...Array.from(cpu[i]!, Math.abs)), name).toBeGreaterThan(0);
    });
  });
});
