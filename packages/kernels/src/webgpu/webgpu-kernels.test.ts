import '@tensorflow/tfjs-backend-cpu';
import { MNIST_MEAN, MNIST_STD, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import {
  createOptimizer,
  crossEntropy,
  FusedAdamUpdate,
  LeNet5,
  LeNet5Gradients,
  LeNet5Logits,
  PARAM_NAMES,
  PARAM_SHAPES,
  type ParamName,
  trainStep,
} from '@lenet/ops';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../../../../test-utils/random';
import { registerKernels } from '../register-kernels';
import { releaseWebGpuForTests, useWebGpuForTests, whyNoWebGpuForTests } from '../test-utils/webgpu';
import { pipelineFailures } from './gpu-work';
import { GRADIENT_STAGES, LOGITS_STAGES } from './lenet5/stages';

const noWebGpu = whyNoWebGpuForTests();
const BATCHES = [1, 17, 64, 300];

let images: Float32Array;
let labels: Int32Array;

interface Results {
  logits: Float32Array;
  loss: number;
  gradients: Record<ParamName, Float32Array>;
}

/** Logits, loss and gradients of a seed-`seed` model on the first `n` images, on the active backend. */
async function compute(
  n: number,
  how: 'fused' | 'tape',
  ids = labels.subarray(0, n),
  seed = 1,
): Promise<Results> {
  const model = LeNet5.create({ seed });
  const x = tf.tensor4d(images.subarray(0, n * 1024), [n, 32, 32, 1]);
  const y = tf.tensor1d(ids, 'int32');
  const logits = model.forward(x);
  const { value, grads } =
    how === 'fused'
      ? model.lossAndGradients(x, y)
      : tf.variableGrads(() => crossEntropy(model.forward(x), y), model.variables());
  const gradients = {} as Record<ParamName, Float32Array>;
  for (const name of PARAM_NAMES)
    gradients[name] = (await grads[model.params[name].name]!.data()) as Float32Array;
  const results = {
    logits: (await logits.data()) as Float32Array,
    loss: (await value.data())[0]!,
    gradients,
  };
  tf.dispose([x, y, logits, value, grads]);
  model.dispose();
  return results;
}

async function on<T>(backend: 'cpu' | 'webgpu', run: () => Promise<T>): Promise<T> {
  await tf.setBackend(backend);
  registerKernels();
  return run();
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function expectConform(actual: Results, expected: Results): void {
  expect(maxAbsDifference(actual.logits, expected.logits), 'max |logit - cpu|').toBeLessThanOrEqual(1e-4);
  expect(Math.abs(actual.loss - expected.loss), '|loss - cpu|').toBeLessThanOrEqual(1e-4);
  for (const name of PARAM_NAMES) {
    expect
      .soft(relativeError(actual.gradients[name], expected.gradients[name]), name)
      .toBeLessThanOrEqual(1e-3);
  }
}

describe.skipIf(noWebGpu !== undefined)(
  `the WGSL kernels on webgpu (Dawn)${noWebGpu ? `: SKIPPED, ${noWebGpu}` : ''}`,
  () => {
    beforeAll(async () => {
      const mnist = await loadEmbeddedMnist();
      const n = Math.max(...BATCHES);
      const preprocessing = { resize: 'pad', normalize: { mean: MNIST_MEAN, std: MNIST_STD } } as const;
      images = preprocessImages(mnist.train.images.subarray(0, n * 784), n, preprocessing);
      labels = Int32Array.from(mnist.train.labels.subarray(0, n));
      await useWebGpuForTests();
    });
    afterAll(async () => {
      // A pipeline that failed to build would have given garbage rather than thrown: none may have.
      await (tf.backend() as unknown as WebGPUBackend).device.queue.onSubmittedWorkDone();
      expect(Object.fromEntries(pipelineFailures())).toEqual({});
      releaseWebGpuForTests();
    });

    it('registers LeNet5Gradients, LeNet5Logits and FusedAdamUpdate, idempotently', async () => {
      await tf.setBackend('webgpu');
      expect(registerKernels().kernels).toEqual(
        expect.arrayContaining([LeNet5Gradients, LeNet5Logits, FusedAdamUpdate]),
      );
      expect(registerKernels().kernels).toEqual(registerKernels().kernels);
    });

    it('compiles every stage without a WGSL error or warning', async () => {
      await tf.setBackend('webgpu');
      const device = (tf.backend() as unknown as WebGPUBackend).device;
      for (const stage of [...GRADIENT_STAGES, ...LOGITS_STAGES]) {
        const info = await device.createShaderModule({ code: stage.wgsl }).getCompilationInfo();
        expect(info.messages.map((m) => `${stage.name}:${m.lineNum}: ${m.type}: ${m.message}`)).toEqual([]);
      }
    });

    it.each(BATCHES)(
      'gives the cpu backend’s logits, loss and gradients on %i real MNIST images',
      async (n) => {
        const expected = await on('cpu', () => compute(n, 'tape'));
        const actual = await on('webgpu', () => compute(n, 'fused'));
        expectConform(actual, expected);
      },
    );

    it('treats labels outside 0-9 as no class, as crossEntropy does', async () => {
      const ids = Int32Array.from([3, -1, 10, 7, 255]);
      expectConform(
        await on('webgpu', () => compute(5, 'fused', ids, 2)),
        await on('cpu', () => compute(5, 'tape', ids, 2)),
      );
    });

    it('runs a training step as LeNet5Gradients and one FusedAdamUpdate per variable, and a prediction as LeNet5Logits', async () => {
      await tf.setBackend('webgpu');
      const model = LeNet5.create();
      const optimizer = createOptimizer('adam', 1e-3);
      const x = tf.tensor4d(images.subarray(0, 4 * 1024), [4, 32, 32, 1]);
      const y = tf.tensor1d(labels.subarray(0, 4), 'int32');
      await trainStep(model, optimizer, x, y); // the first step also makes Adam's moments
      const step = await tf.profile(() => trainStep(model, optimizer, x, y));
      const counts = (names: string[]) =>
        Object.fromEntries([...new Set(names)].map((k) => [k, names.filter((n) => n === k).length]));
      const calls = step.kernels.map((k) => k.name);
      expect(counts(calls)).toMatchObject({ [LeNet5Gradients]: 1, [FusedAdamUpdate]: PARAM_NAMES.length });
      // What is left around them is the optimizer's scalar bookkeeping, not the model.
      expect(calls.filter((k) => /Conv|Pool|MatMul|Tanh/.test(k))).toEqual([]);
      // A handful of dispatches, where the stock kernels run about 250.
      expect(calls.length).toBeLessThanOrEqual(PARAM_NAMES.length + 3);
      const predict = await tf.profile(() => model.forward(x));
      expect(predict.kernels.map((k) => k.name)).toEqual([LeNet5Logits]);
      tf.dispose([x, y, predict.result as tf.Tensor]);
      model.dispose();
      optimizer.dispose();
    });

    it('updates like tf.train.adam on webgpu, within float rounding', async () => {
      await tf.setBackend('webgpu');
      // Fixed gradients of LeNet-5's shapes, three steps at changing rates, from the same start.
      const start = PARAM_NAMES.map((name, i) =>
        tf.randomNormal([...PARAM_SHAPES[name]], 0, 0.1, 'float32', i),
      );
      const gradients = PARAM_NAMES.map((name, i) =>
        tf.randomNormal([...PARAM_SHAPES[name]], 0, 1e-2, 'float32', 50 + i),
      );
      const run = async (optimizer: tf.Optimizer) => {
        const variables = start.map((t, i) =>
          tf.variable(t.clone(), true, `adam-check-${i}-${Math.random()}`),
        );
        for (let step = 0; step < 3; step++) {
          (optimizer as unknown as { learningRate: number }).learningRate = 1e-3 * (1 + step);
          optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: gradients[i]! })));
        }
        const values = await Promise.all(variables.map((v) => v.data() as Promise<Float32Array>));
        tf.dispose(variables);
        optimizer.dispose();
        return values;
      };
      const stock = await run(tf.train.adam(1e-3));
      const fused = await run(createOptimizer('adam', 1e-3));
      PARAM_NAMES.forEach((name, i) => {
        expect.soft(relativeError(fused[i]!, stock[i]!), name).toBeLessThanOrEqual(1e-6);
      });
      tf.dispose([start, gradients]);
    });

    it('leaves tf.memory() (tensors and GPU bytes) unchanged, step after step and prediction after prediction', async () => {
      await tf.setBackend('webgpu');
      const model = LeNet5.create();
      const optimizer = createOptimizer('adam', 1e-3);
      const x = tf.tensor4d(images.subarray(0, 16 * 1024), [16, 32, 32, 1]);
      const y = tf.tensor1d(labels.subarray(0, 16), 'int32');
      const memory = () => {
        const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
        return { tensors: m.numTensors, bytes: m.numBytes, gpuBytes: m.numBytesInGPU };
      };
      await trainStep(model, optimizer, x, y); // the optimizer makes its moments on the first step
      const before = memory();
      for (let i = 0; i < 3; i++) {
        await trainStep(model, optimizer, x, y);
        const p = model.predict(x);
        await p.data();
        p.dispose();
        expect(memory()).toEqual(before);
      }
      tf.dispose([x, y]);
      model.dispose();
      optimizer.dispose();
    });
  },
);
