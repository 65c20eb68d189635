// The relaxed-SIMD build of our kernels (assembly/madd.ts), in a process of its own: Node 20 has
// relaxed SIMD only behind a V8 flag, which must be set before the module compiles, and the choice
// of build is made once per process. Every other wasm test runs the build the engine picks by
// default (plain SIMD on Node 20); this one holds the fused-multiply-add build to the same
// tolerances against the cpu backend's tape.
import { setFlagsFromString } from 'node:v8';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { crossEntropy, LeNet5, PARAM_NAMES } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../../../../test-utils/random';
import { useBackendWithKernels } from '../test-utils/backends';
import { firstTrainingImages } from '../test-utils/mnist';
import { usePlainSimdOnly, wasmSimdVariant } from './wasm-module';

setFlagsFromString('--experimental-wasm-relaxed-simd'); // a no-op where relaxed SIMD is on by default

let images: Float32Array;
let labels: Int32Array;

beforeAll(async () => {
  await useBackendWithKernels('wasm');
  ({ images, labels } = await firstTrainingImages(64));
});

/** The loss and gradients (fused where registered, else the tape) and the logits of `n` images on `backend`. */
async function lossGradientsAndLogits(backend: 'cpu' | 'wasm', n: number) {
  await tf.setBackend(backend);
  const model = LeNet5.create({ seed: 3 });
  const x = tf.tensor4d(images.subarray(0, n * 1024), [n, 32, 32, 1]);
  const y = tf.tensor1d(labels.subarray(0, n), 'int32');
  const { value, grads } =
    backend === 'wasm'
      ? model.lossAndGradients(x, y)
      : tf.variableGrads(() => crossEntropy(model.forward(x), y), model.variables());
  const logits = model.forward(x);
  const result = {
    loss: value.dataSync()[0]!,
    gradients: PARAM_NAMES.map((name) => grads[model.params[name].name]!.dataSync() as Float32Array),
    logits: logits.dataSync() as Float32Array,
  };
  tf.dispose([x, y, value, grads, logits]);
  model.dispose();
  return result;
}

describe('our wasm kernels, built with relaxed SIMD', () => {
  it('are the build that runs once the engine has relaxed SIMD, and the choice is then fixed', () => {
    expect(wasmSimdVariant()).toBe('relaxed-simd');
    expect(() => usePlainSimdOnly()).toThrow(/before the first wasm kernel/);
  });

  it.each([1, 17, 64])(
    'give the cpu backend’s loss, gradients and logits on %i real MNIST images',
    async (n) => {
      const wasm = await lossGradientsAndLogits('wasm', n);
      const cpu = await lossGradientsAndLogits('cpu', n);
      expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(cpu.loss)));
      PARAM_NAMES.forEach((name, i) => {
        expect(relativeError(wasm.gradients[i]!, cpu.gradients[i]!), name).toBeLessThanOrEqual(1e-4);
      });
      expect(relativeError(wasm.logits, cpu.logits)).toBeLessThanOrEqual(1e-5);
    },
  );

  it('keep tanh within 4e-7 of Math.tanh, NaN as NaN, -0 as -0 and ±1 at ±Infinity', async () => {
    await tf.setBackend('wasm');
    const values = Float32Array.from({ length: 4001 }, (_, i) => (i - 2000) / 200);
    const y = tf.tidy(() => tf.tanh(tf.tensor1d(values)).dataSync());
    values.forEach((v, i) => {
      const expected = Math.tanh(v);
      expect(Math.abs(y[i]! - expected), `tanh(${v})`).toBeLessThanOrEqual(4e-7 * Math.abs(expected) + 1e-37);
    });
    const special = tf.tidy(() => tf.tanh(tf.tensor1d([Number.NaN, -0, Infinity, -Infinity])).dataSync());
    expect(Number.isNaN(special[0])).toBe(true);
    expect(Object.is(special[1], -0)).toBe(true);
    expect([special[2], special[3]]).toEqual([1, -1]);
  });
});
