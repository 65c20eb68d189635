/**
 * The conformance checks that run on the active tfjs backend, in Node or in a browser (no Node APIs): LeNet-5
 * with fixed weights on real MNIST images must give the float64 reference's logits, loss and gradients, both
 * through tfjs's tape and through LeNet5.lossAndGradients (the fused kernel where the backend registers one),
 * learn, leak no tensor per step, and repeat itself bit for bit. Everything returned is plain data, so a
 * browser page can hand it to the Node test that asserts it (expectations.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_PREPROCESSING, preprocessImages } from '../../packages/data/src/index';
import {
  createOptimizer,
  crossEntropy,
  LeNet5,
  LeNet5Gradients,
  PARAM_NAMES,
  type ParamName,
  trainStep,
} from '../../packages/ops/src/index';
import { lenet5Reference, type ReferenceResult } from '../lenet5-reference';
import { relativeError } from '../random';

/**
 * Tolerances against the float64 reference. Every backend computes in float32 with its own summation order;
 * logits and loss are compared in absolute terms, each gradient relative to its largest entry.
 */
export const LOGITS_ABS_TOLERANCE = 1e-4;
export const LOSS_ABS_TOLERANCE = 1e-4;
export const GRADIENT_REL_TOLERANCE = 1e-3;

/** How much work one backend's run does: software GPUs (SwiftShader) need tiny cases. */
export interface ConformanceSize {
  /** Real MNIST test images per batch. */
  batchSize: number;
  /** Training steps in the loss and determinism checks. */
  steps: number;
}

/** One batch and one set of weights, as plain arrays. */
export interface ConformanceCase {
  /** [n, 32, 32, 1], padded and normalised as the default recipe does. */
  x: Float32Array;
  labels: Int32Array;
  weights: Record<ParamName, Float32Array>;
}

/** How far the active backend is from the reference, by quantity and, for gradients, by parameter. */
export interface ReferenceErrors {
  /** max |logit - reference|, of LeNet5.forward (the fused LeNet5Logits kernel where registered). */
  logits: number;
  /** |loss - reference|: from tf.variableGrads, and from LeNet5.lossAndGradients. */
  loss: { tape: number; fused: number };
  /** relativeError of each gradient: from tf.variableGrads, and from LeNet5.lossAndGradients. */
  gradients: { tape: Record<ParamName, number>; fused: Record<ParamName, number> };
}

/** Two training runs from the same weights on the same batch. */
export interface TrainingReport {
  /** The loss of every step of the first run. */
  losses: number[];
  /** The loss of every step of the second run: must equal `losses` bit for bit. */
  repeatedLosses: number[];
  /** Parameters whose final weights differ between the two runs: must be none. */
  differingWeights: ParamName[];
  /** tf.memory().numTensors after each step of the first run. */
  tensorsAfterStep: number[];
  /** tf.memory().numTensors before the first run and after the second one. */
  tensorsBefore: number;
  tensorsAfter: number;
}

/** Real MNIST images (28x28 bytes each) and labels, and seed-1 weights: the case every backend computes. */
export async function makeCase(
  images: Uint8Array,
  labels: ArrayLike<number>,
  batchSize: number,
): Promise<ConformanceCase> {
  const model = LeNet5.create({ seed: 1 });
  const weights = {} as Record<ParamName, Float32Array>;
  for (const name of PARAM_NAMES) weights[name] = (await model.params[name].data()) as Float32Array;
  model.dispose();
  return {
    x: preprocessImages(images.subarray(0, batchSize * 28 * 28), batchSize, DEFAULT_PREPROCESSING),
    labels: Int32Array.from(Array.from(labels).slice(0, batchSize)),
    weights,
  };
}

/** The float64 reference's logits, loss and gradients for the case. */
export function referenceOf(c: ConformanceCase): ReferenceResult {
  return lenet5Reference(c.weights, c.x, c.labels);
}

/** Whether LeNet5.lossAndGradients runs the fused kernel on the active backend rather than the tape. */
export function fusedGradientsRegistered(): boolean {
  return tf.getKernel(LeNet5Gradients, tf.getBackend()) != null;
}

function inputs(c: ConformanceCase): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const n = c.labels.length;
  return { x: tf.tensor4d(c.x, [n, 32, 32, 1]), y: tf.tensor1d(c.labels, 'int32') };
}

/** Logits, loss and gradients on the active backend, read back with data() (some backends lack dataSync). */
export async function compareWithReference(
  c: ConformanceCase,
  reference: ReferenceResult,
): Promise<ReferenceErrors> {
  const model = LeNet5.create();
  model.setWeights(c.weights);
  const { x, y } = inputs(c);
  const logits = model.forward(x);
  const tape = tf.variableGrads(() => crossEntropy(model.forward(x), y), model.variables());
  const fused = model.lossAndGradients(x, y);
  const errors: ReferenceErrors = {
    logits: maxAbsDifference((await logits.data()) as Float32Array, reference.logits),
    loss: {
      tape: Math.abs((await tape.value.data())[0]! - reference.loss),
      fused: Math.abs((await fused.value.data())[0]! - reference.loss),
    },
    gradients: { tape: {} as Record<ParamName, number>, fused: {} as Record<ParamName, number> },
  };
  for (const name of PARAM_NAMES) {
    const variable = model.params[name].name;
    const expected = reference.gradients[name];
    errors.gradients.tape[name] = relativeError(await tape.grads[variable]!.data(), expected);
    errors.gradients.fused[name] = relativeError(await fused.grads[variable]!.data(), expected);
  }
  tf.dispose([x, y, logits, tape.value, tape.grads, fused.value, fused.grads]);
  model.dispose();
  return errors;
}

/** Adam for `steps` steps from the case's weights, twice; records losses, weights and tensor counts. */
export async function trainTwice(c: ConformanceCase, steps: number): Promise<TrainingReport> {
  const tensorsBefore = tf.memory().numTensors;
  const first = await train(c, steps);
  const second = await train(c, steps);
  return {
    losses: first.losses,
    repeatedLosses: second.losses,
    differingWeights: PARAM_NAMES.filter((name) => !sameBits(first.weights[name], second.weights[name])),
    tensorsAfterStep: first.tensorsAfterStep,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
}

async function train(c: ConformanceCase, steps: number) {
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
  const weights = {} as Record<ParamName, Float32Array>;
  for (const name of PARAM_NAMES) weights[name] = (await model.params[name].data()) as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return { losses, weights, tensorsAfterStep };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((bits, i) => bits === y[i]);
}

function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
  }
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}
