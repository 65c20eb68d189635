import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, relativeError } from '../../../../test-utils/random';
import { registerKernels } from '../register-kernels';

type Shape4 = [number, number, number, number];

/** The filter gradient by its definition, in float64, NHWC, stride and padding explicit. */
function naiveFilterGradient(
  x: Float32Array,
  [batch, height, width, inChannels]: Shape4,
  dy: Float32Array,
  [, outHeight, outWidth, outChannels]: Shape4,
  [filterHeight, filterWidth]: [number, number],
  stride: number,
  padTop: number,
  padLeft: number,
): Float64Array {
  const dW = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let r = 0; r < filterHeight; r++)
    for (let c = 0; c < filterWidth; c++)
      for (let i = 0; i < inChannels; i++)
        for (let o = 0; o < outChannels; o++) {
          let sum = 0;
          for (let b = 0; b < batch; b++)
            for (let y = 0; y < outHeight; y++)
              for (let z = 0; z < outWidth; z++) {
                const row = y * stride + r - padTop;
                const col = z * stride + c - padLeft;
                if (row < 0 || row >= height || col < 0 || col >= width) continue;
                sum +=
                  x[((b * height + row) * width + col) * inChannels + i]! *
                  dy[((b * outHeight + y) * outWidth + z) * outChannels + o]!;
              }
          dW[((r * filterWidth + c) * inChannels + i) * outChannels + o] = sum;
        }
  return dW;
}

/** tf.grad of tf.conv2d with respect to the filter, for a fixed upstream gradient dy. */
function filterGradient(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
  stride: number,
  pad: 'valid' | 'same',
): Float32Array {
  return tf.tidy(() => {
    const gradient = tf.grad((f: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, pad), dy)),
    );
    return gradient(filter).dataSync() as Float32Array;
  });
}

const cases: { name: string; x: Shape4; filter: Shape4; stride: number; pad: 'valid' | 'same' }[] = [
  { name: 'LeNet C1', x: [4, 32, 32, 1], filter: [5, 5, 1, 6], stride: 1, pad: 'valid' },
  { name: 'LeNet C3', x: [4, 14, 14, 6], filter: [5, 5, 6, 16], stride: 1, pad: 'valid' },
  { name: 'LeNet C5', x: [4, 5, 5, 16], filter: [5, 5, 16, 120], stride: 1, pad: 'valid' },
  { name: 'batch 1', x: [1, 9, 9, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'valid' },
  { name: 'stride 2', x: [3, 11, 11, 2], filter: [3, 3, 2, 5], stride: 2, pad: 'valid' },
  { name: "'same' padding, stride 2", x: [2, 10, 9, 3], filter: [4, 3, 3, 2], stride: 2, pad: 'same' },
];

describe('the cpu Conv2DBackpropFilter of registerKernels', () => {
  let stockKernel: tf.KernelConfig;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    stockKernel = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
    registerKernels();
  });

  it.each(cases)('matches the float64 definition within 1e-5 ($name)', (c) => {
    const xValues = randomValues(
      c.x.reduce((a, b) => a * b),
      1,
    );
    const filterValues = randomValues(
      c.filter.reduce((a, b) => a * b),
      2,
    );
    const x = tf.tensor4d(xValues, c.x);
    const filter = tf.tensor4d(filterValues, c.filter);
    const outShape = tf.tidy(() => tf.conv2d(x, filter, c.stride, c.pad).shape);
    const dyValues = randomValues(
      outShape.reduce((a, b) => a * b),
      3,
    );
    const dy = tf.tensor4d(dyValues, outShape);
    // tfjs puts the extra row/column of odd 'same' padding at the bottom/right.
    const padTop =
      c.pad === 'same' ? Math.floor(Math.max((outShape[1] - 1) * c.stride + c.filter[0] - c.x[1], 0) / 2) : 0;
    const padLeft =
      c.pad === 'same' ? Math.floor(Math.max((outShape[2] - 1) * c.stride + c.filter[1] - c.x[2], 0) / 2) : 0;

    const actual = filterGradient(x, filter, dy, c.stride, c.pad);
    const expected = naiveFilterGradient(
      xValues,
      c.x,
      dyValues,
      outShape,
      [c.filter[0], c.filter[1]],
      c.stride,
      padTop,
      padLeft,
    );
    expect(relativeError(actual, expected)).toBeLessThan(1e-5);
    tf.dispose([x, filter, dy]);
  });

  it("gives bit-identical results to tfjs's own cpu kernel, also for NCHW", () => {
    const backend = tf.backend();
    for (const dataFormat of ['NHWC', 'NCHW'] as const) {
      const xShape: Shape4 = dataFormat === 'NHWC' ? [3, 12, 12, 4] : [3, 4, 12, 12];
      const dyShape: Shape4 = dataFormat === 'NHWC' ? [3, 4, 4, 5] : [3, 5, 4, 4];
      const x = tf.tensor4d(randomValues(3 * 12 * 12 * 4, 4), xShape);
      const dy = tf.tensor4d(randomValues(3 * 4 * 4 * 5, 5), dyShape);
      const attrs = { strides: 3, pad: 'valid', dataFormat, filterShape: [3, 3, 4, 5] };
      const ours = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
      const stockInfo = stockKernel.kernelFunc({
        inputs: { x, dy },
        backend,
        attrs,
      } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
      const stockValues = backend.readSync(stockInfo.dataId) as Float32Array;
      expect(Array.from(ours.dataSync())).toEqual(Array.from(stockValues));
      backend.disposeData(stockInfo.dataId);
      tf.dispose([x, dy, ours]);
    }
  });

  it('is idempotent and leaks no tensors', () => {
    const registered = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    registerKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')).toBe(registered);
    expect(registered).not.toBe(stockKernel);

    const x = tf.tensor4d(randomValues(2 * 8 * 8 * 2, 6), [2, 8, 8, 2]);
    const filter = tf.tensor4d(randomValues(3 * 3 * 2 * 3, 7), [3, 3, 2, 3]);
    const dy = tf.ones([2, 6, 6, 3]) as tf.Tensor4D;
    const before = tf.memory();
    filterGradient(x, filter, dy, 1, 'valid');
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
    tf.dispose([x, filter, dy]);
  });
});
