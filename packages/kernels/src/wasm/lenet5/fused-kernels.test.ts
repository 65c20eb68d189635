import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  createOptimizer,
  crossEntropy,
  LeNet5,
  LeNet5Gradients,
  LeNet5Logits,
  PARAM_NAMES,
  type ParamName,
} from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../../../../../test-utils/random';
import { useBackendWithKernels } from '../../test-utils/backends';
import { firstTrainingImages } from '../../test-utils/mnist';

let images: Float32Array;
let labels: Int32Array;

beforeAll(async () => {
  await useBackendWithKernels('wasm');
  ({ images, labels } = await firstTrainingImages(70));
});

interface Gradients {
  loss: number;
  gradients: Record<ParamName, Float32Array>;
}

/** Loss and gradients of a seed-`seed` model on the first `n` images, on `backend`, by `how`. */
async function gradientsOn(
  backend: 'cpu' | 'wasm',
  n: number,
  how: 'fused' | 'tape',
  seed = 1,
  ids: Int32Array = labels.subarray(0, n),
  x: Float32Array = images.subarray(0, n * 1024),
): Promise<Gradients> {
  await tf.setBackend(backend);
  const model = LeNet5.create({ seed });
  const input = tf.tensor4d(x, [n, 32, 32, 1]);
  const y = tf.tensor1d(ids, 'int32');
  const { value, grads } =
    how === 'fused'
      ? model.lossAndGradients(input, y)
      : tf.variableGrads(() => crossEntropy(model.forward(input), y), model.variables());
  const gradients = {} as Record<ParamName, Float32Array>;
  for (const name of PARAM_NAMES)
    gradients[name] = grads[model.params[name].name]!.dataSync() as Float32Array;
  const loss = value.dataSync()[0]!;
  tf.dispose([input, y, value, grads]);
  model.dispose();
  return { loss, gradients };
}

function expectClose(actual: Gradients, expected: Gradients) {
  expect(Math.abs(actual.loss - expected.loss)).toBeLessThanOrEqual(
    1e-5 * Math.max(1, Math.abs(expected.loss)),
  );
  for (const name of PARAM_NAMES) {
    expect(relativeError(actual.gradients[name], expected.gradients[name]), name).toBeLessThanOrEqual(1e-4);
  }
}

describe('LeNet5Gradients on wasm (one fused kernel for the loss and every gradient)', () => {
  it('is registered on wasm, so LeNet5.lossAndGradients runs it there and nothing else', async () => {
    await tf.setBackend('wasm');
    expect(tf.getKernel(LeNet5Gradients, 'wasm')).toBeDefined();
    expect(tf.getKernel(LeNet5Gradients, 'cpu')).toBeUndefined();
    // One kernel call, where the tape runs about a hundred.
    const model = LeNet5.create();
    const x = tf.tensor4d(images.subarray(0, 2 * 1024), [2, 32, 32, 1]);
    const y = tf.tensor1d(labels.subarray(0, 2), 'int32');
    const profile = await tf.profile(() => {
      const { value, grads } = model.lossAndGradients(x, y);
      return [value, ...Object.values(grads)];
    });
    expect(profile.kernelNames).toEqual([LeNet5Gradients]);
    tf.dispose([x, y, profile.result as tf.Tensor[]]);
    model.dispose();
  });

  it.each([1, 3, 17, 64, 70])(
    'gives the cpu backend’s loss and gradients on %i real MNIST images',
    async (n) => {
      expectClose(await gradientsOn('wasm', n, 'fused'), await gradientsOn('cpu', n, 'tape'));
    },
  );

  it('treats labels outside 0-9 as no class, as crossEntropy does', async () => {
    const ids = Int32Array.from([3, -1, 10, 7, 255]);
    expectClose(await gradientsOn('wasm', 5, 'fused', 2, ids), await gradientsOn('cpu', 5, 'tape', 2, ids));
  });

  it('gives a NaN loss for a NaN pixel (so trainStep refuses the step)', async () => {
    const x = images.slice(0, 2 * 1024);
    x[500] = Number.NaN;
    const { loss } = await gradientsOn('wasm', 2, 'fused', 1, labels.subarray(0, 2), x);
    expect(Number.isNaN(loss)).toBe(true);
  });

  it('checks its inputs as the tape does', async () => {
    await tf.setBackend('wasm');
    const model = LeNet5.create();
    const x = tf.zeros([2, 32, 32, 1]) as tf.Tensor4D;
    expect(() => model.lossAndGradients(x, tf.tensor1d([1, 2], 'float32'))).toThrow(/int32/);
    expect(() => model.lossAndGradients(x, tf.tensor1d([1], 'int32'))).toThrow(/shape \[2\]/);
    expect(() =>
      model.lossAndGradients(tf.zeros([2, 28, 28, 1]) as tf.Tensor4D, tf.tensor1d([1, 2], 'int32')),
    ).toThrow(/32, 32, 1/);
    model.dispose();
  });

  it('leaves tf.memory(), the backend’s buffers and the wasm heap as they were, step after step', async () => {
    await tf.setBackend('wasm');
    const model = LeNet5.create();
    const optimizer = createOptimizer('adam', 1e-3);
    const x = tf.tensor4d(images.subarray(0, 64 * 1024), [64, 32, 32, 1]);
    const y = tf.tensor1d(labels.subarray(0, 64), 'int32');
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = model.lossAndGradients(x, y);
        optimizer.applyGradients(grads);
        return value.dataSync()[0];
      });
    for (let i = 0; i < 3; i++) step();
    const before = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    const heap = () =>
      ((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength;
    const heapBefore = heap();
    for (let i = 0; i < 30; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(buffers);
    expect(heap()).toBe(heapBefore);
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  });
});

describe('LeNet5Logits on wasm (the forward pass in one kernel)', () => {
  async function logitsOn(backend: 'cpu' | 'wasm', n: number) {
    await tf.setBackend(backend);
    const model = LeNet5.create({ seed: 4 });
    const x = tf.tensor4d(images.subarray(0, n * 1024), [n, 32, 32, 1]);
    const logits = model.forward(x);
    const probabilities = model.predict(x);
    const result = { logits: logits.dataSync() as Float32Array, probabilities: probabilities.dataSync() };
    tf.dispose([x, logits, probabilities]);
    model.dispose();
    return result;
  }

  it.each([1, 5, 64, 70])(
    'gives the cpu backend’s logits and probabilities on %i real MNIST images',
    async (n) => {
      const wasm = await logitsOn('wasm', n);
      const cpu = await logitsOn('cpu', n);
      expect(relativeError(wasm.logits, cpu.logits)).toBeLessThanOrEqual(1e-5);
      expect(relativeError(wasm.probabilities, cpu.probabilities)).toBeLessThanOrEqual(1e-5);
    },
  );

  it('runs alone outside a gradient tape, and stays out of one (it has no gradient)', async () => {
    await tf.setBackend('wasm');
    const model = LeNet5.create();
    const x = tf.tensor4d(images.subarray(0, 4 * 1024), [4, 32, 32, 1]);
    const outside = await tf.profile(() => model.predict(x));
    expect(outside.kernelNames).toContain(LeNet5Logits);
    expect(outside.kernelNames).not.toContain('Conv2D');
    const inside = await tf.profile(() =>
      tf.grad((input: tf.Tensor) => tf.sum(model.forward(input as tf.Tensor4D)))(x),
    );
    expect(inside.kernelNames).not.toContain(LeNet5Logits);
    expect(inside.kernelNames).toContain('Conv2D');
    tf.dispose([x, outside.result as tf.Tensor, inside.result as tf.Tensor]);
    model.dispose();
  });
});
