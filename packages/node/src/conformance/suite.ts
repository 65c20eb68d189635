import { MNIST_MEAN, MNIST_STD, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { createOptimizer, crossEntropy, LeNet5, PARAM_NAMES, type ParamName, trainStep } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../../../../test-utils/random';
import { type BackendOptions, type NodeBackendName, releaseBackend, useBackend } from '../backends';

/** How much work one backend's run does: software GPUs (SwiftShader) need tiny cases. */
export interface ConformanceSize {
  /** Real MNIST test images per batch. */
  batchSize: number;
  /** Training steps in the loss and determinism checks. */
  steps: number;
}

/** Tolerances against the cpu backend: float32 everywhere, but summation orders differ between backends. */
const LOGITS_ABS_TOLERANCE = 1e-4;
const GRADIENT_REL_TOLERANCE = 1e-3;

interface Case {
  x: Float32Array;
  labels: Int32Array;
  weights: Record<ParamName, Float32Array>;
}

interface Result {
  logits: Float32Array;
  /** From tfjs's tape (tf.variableGrads). */
  gradients: Record<ParamName, Float32Array>;
  /** From LeNet5.lossAndGradients: a fused kernel where the backend registers one (wasm). */
  fused: { loss: number; gradients: Record<ParamName, Float32Array> };
}

/**
 * Defines the conformance tests for one backend: the same LeNet-5 with the same weights and real MNIST
 * images must give the cpu backend's logits and gradients, learn, leak no tensor per step, and repeat
 * itself bit for bit from the same seed. A backend that does not start here gets one skipped test whose
 * name says why, so a report never counts it as passed.
 */
export async function defineConformanceSuite(
  backend: NodeBackendName,
  size: ConformanceSize,
  options: BackendOptions = {},
): Promise<void> {
  let device: string;
  let tfjsName: string;
  try {
    device = (await useBackend(backend, options)).device;
    tfjsName = tf.getBackend();
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    // CI names the backends it installs, so that one that silently stopped starting fails instead of skipping.
    const required = (process.env.LENET_REQUIRE_BACKENDS ?? '').split(',').includes(backend);
    describe(`conformance on ${backend}`, () => {
      if (required) {
        it(`${backend} is required by LENET_REQUIRE_BACKENDS but does not start`, () => {
          throw new Error(reason);
        });
      } else {
        it.skip(`SKIPPED: ${backend} is not available here: ${reason}`, () => {});
      }
    });
    return;
  }

  describe(`conformance on ${backend} (${device})`, () => {
    let fixture: Case;
    let reference: Result;

    beforeAll(async () => {
      fixture = await makeCase(size.batchSize);
      await useBackend('cpu');
      reference = await compute(fixture);
      await useBackend(backend, options);
    });
    afterAll(() => releaseBackend());

    it(`gives the cpu backend's logits within ${LOGITS_ABS_TOLERANCE}`, async () => {
      const { logits } = await compute(fixture);
      expect(tf.getBackend()).toBe(tfjsName);
      expect(maxAbsDifference(logits, reference.logits)).toBeLessThanOrEqual(LOGITS_ABS_TOLERANCE);
    });

    it(`gives every gradient of the cpu backend within ${GRADIENT_REL_TOLERANCE} relative error`, async () => {
      const { gradients } = await compute(fixture);
      const errors = Object.fromEntries(
        PARAM_NAMES.map((name) => [name, relativeError(gradients[name], reference.gradients[name])]),
      );
      for (const name of PARAM_NAMES) {
        expect(errors[name], `gradient of ${name}`).toBeLessThanOrEqual(GRADIENT_REL_TOLERANCE);
      }
    });

    it(`gives the cpu backend's loss and gradients through LeNet5.lossAndGradients (fused where registered)`, async () => {
      const { fused } = await compute(fixture);
      expect(Math.abs(fused.loss - reference.fused.loss)).toBeLessThanOrEqual(LOGITS_ABS_TOLERANCE);
      for (const name of PARAM_NAMES) {
        expect(
          relativeError(fused.gradients[name], reference.gradients[name]),
          `gradient of ${name}`,
        ).toBeLessThanOrEqual(GRADIENT_REL_TOLERANCE);
      }
    });

    it(`lowers the loss in ${size.steps} steps without leaking a tensor, the same way twice from one seed`, async () => {
      const first = await train(fixture, size.steps);
      const second = await train(fixture, size.steps);
      expect(first.losses.at(-1)!).toBeLessThan(first.losses[0]!);
      // The optimizer makes its slots on the first step; every later step must leave the count unchanged.
      expect(first.tensorsAfterStep.slice(1).every((n) => n === first.tensorsAfterStep[1])).toBe(true);
      expect(second.losses).toEqual(first.losses);
      expect(second.weights).toEqual(first.weights);
      expect(tf.memory().numTensors).toBe(first.tensorsBefore);
    });
  });
}

/** Real MNIST test images, padded and normalised as the default recipe does, and seed-1 weights. */
async function makeCase(batchSize: number): Promise<Case> {
  const mnist = await loadEmbeddedMnist();
  const preprocessing = { resize: 'pad', normalize: { mean: MNIST_MEAN, std: MNIST_STD } } as const;
  const images = mnist.test.images.subarray(0, batchSize * 28 * 28);
  const model = LeNet5.create({ seed: 1 });
  const weights = {} as Record<ParamName, Float32Array>;
  for (const name of PARAM_NAMES) weights[name] = (await model.params[name].data()) as Float32Array;
  model.dispose();
  return {
    x: preprocessImages(images, batchSize, preprocessing),
    labels: Int32Array.from(mnist.test.labels.subarray(0, batchSize)),
    weights,
  };
}

function inputs(c: Case): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const n = c.labels.length;
  return { x: tf.tensor4d(c.x, [n, 32, 32, 1]), y: tf.tensor1d(c.labels, 'int32') };
}

/** Logits and loss gradients on the active backend, read back with data() (webgpu has no dataSync in Node). */
async function compute(c: Case): Promise<Result> {
  const model = LeNet5.create();
  model.setWeights(c.weights);
  const { x, y } = inputs(c);
  const logits = model.forward(x);
  const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x), y), model.variables());
  const fused = model.lossAndGradients(x, y);
  const gradients = {} as Record<ParamName, Float32Array>;
  const fusedGradients = {} as Record<ParamName, Float32Array>;
  for (const name of PARAM_NAMES) {
    gradients[name] = (await grads[model.params[name].name]!.data()) as Float32Array;
    fusedGradients[name] = (await fused.grads[model.params[name].name]!.data()) as Float32Array;
  }
  const result = {
    logits: (await logits.data()) as Float32Array,
    gradients,
    fused: { loss: (await fused.value.data())[0]!, gradients: fusedGradients },
  };
  tf.dispose([x, y, logits, value, grads, fused.value, fused.grads]);
  model.dispose();
  return result;
}

/** A few Adam steps from fixed weights; records every loss and the tensor count after every step. */
async function train(c: Case, steps: number) {
  const tensorsBefore = tf.memory().numTensors;
  const model = LeNet5.create();
  model.setWeights(c.weights);
  const optimizer = createOptimizer('adam', 1e-3);
  const { x, y } = inputs(c);
  const losses: number[] = [];
  const tensorsAfterStep: number[] = [];
  for (let step = 0; step < steps; step++) {
    losses.push(await trainStep(model, optimizer, x, y));
    tensorsAfterStep.push(tf.memory().numTensors);
  }
  const weights: Float32Array[] = [];
  for (const v of model.variables()) weights.push((await v.data()) as Float32Array);
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return { losses, weights, tensorsAfterStep, tensorsBefore };
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
