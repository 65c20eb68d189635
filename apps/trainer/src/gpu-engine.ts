import { AUGMENT_TRANSFORM_FLOATS, type BatchPlan, batchPlans, type PreparedSplit } from '@lenet/data';
import {
  augmentBatch,
  createOptimizer,
  type EvaluateOptions,
  type EvaluationResult,
  evaluate,
  INPUT_SIZE,
  type LabelledBatch,
  type LeNet5,
  trainStep,
} from '@lenet/ops';
import {
  decodeOptimizerState,
  encodeOptimizerState,
  type OptimizerState,
  setOptimizerLearningRate,
} from '@lenet/ops/parallel';
import * as tf from '@tensorflow/tfjs-core';
import type { StepEngine } from './engine';
import { CliError } from './errors';

/** Test images per forward pass on the device: large, so that a pass keeps a GPU busy. */
export const GPU_EVALUATION_BATCH = 2000;

export interface GpuEngineOptions {
  /** The run's model, trained in place on the active backend. */
  model: LeNet5;
  learningRate: number;
  /** Adam's state from a checkpoint; a fresh optimizer when omitted. */
  optimizerState?: OptimizerState;
  /** Uploaded once; every batch is made from it on the device. */
  trainSplit: PreparedSplit;
}

/**
 * Training with the data on the device: the training split and its labels go to the GPU once, and each
 * step gathers and distorts its batch there from the batch's plan (`augmentBatch`), so the CPU only draws
 * the plans. The step itself is `trainStep` of @lenet/ops on this thread, with the learning rate set as a
 * replica sets it, so this engine trains as one-thread training on the replicas does, and its checkpoints
 * (tfjs's Adam state) resume on either. Test images are evaluated on the device in large batches.
 * Runs on any backend: where the backend has no `AugmentBatch` kernel, stock ops make the batches.
 */
export async function createGpuEngine(options: GpuEngineOptions): Promise<StepEngine<BatchPlan>> {
  const { model, trainSplit } = options;
  checkFitsOneBuffer(trainSplit);
  const optimizer = createOptimizer('adam', options.learningRate);
  if (options.optimizerState) await decodeOptimizerState(optimizer, options.optimizerState);
  const train = uploadSplit(trainSplit);
  let test: { split: PreparedSplit; images: tf.Tensor4D; labels: tf.Tensor1D } | undefined;
  const megabytes = Math.round((trainSplit.inputs.byteLength + trainSplit.count * 4) / 2 ** 20);

  return {
    description: `this thread, the training set on the device (${megabytes} MB), batches made there`,
    batches: (batchOptions) => batchPlans(trainSplit, batchOptions),
    async step(plan, learningRate) {
      const { x, y } = tf.tidy(() => {
        const indices = tf.tensor1d(plan.indices, 'int32');
        const augmentation = plan.augmentation;
        const transforms = augmentation
          ? tf.tensor2d(augmentation.transforms, [plan.size, AUGMENT_TRANSFORM_FLOATS])
          : null;
        return {
          x: augmentBatch(train.images, indices, transforms, augmentation?.background),
          y: tf.gather(train.labels, indices),
        };
      });
      try {
        setOptimizerLearningRate(optimizer, learningRate);
        return await trainStep(model, optimizer, x, y);
      } finally {
        tf.dispose([x, y]);
      }
    },
    async evaluate(split, evaluateOptions) {
      if (test?.split !== split) {
        if (test) tf.dispose([test.images, test.labels]);
        test = { split, ...uploadSplit(split) };
      }
      return evaluateOnDevice(model, test.images, test.labels, evaluateOptions);
    },
    // The run's model is the one trained.
    syncModel: async () => {},
    optimizerState: () => encodeOptimizerState(optimizer),
    async dispose() {
      tf.dispose([train.images, train.labels]);
      if (test) tf.dispose([test.images, test.labels]);
      optimizer.dispose();
    },
  };
}

/** `evaluate` of @lenet/ops on images and labels held on the device, {@link GPU_EVALUATION_BATCH} at a time. */
export function evaluateOnDevice(
  model: LeNet5,
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  return evaluate(model, slices(images, labels, GPU_EVALUATION_BATCH), options);
}

/** Consecutive slices of `size` examples; each is disposed when the next is asked for or the loop ends. */
function* slices(images: tf.Tensor4D, labels: tf.Tensor1D, size: number): Generator<LabelledBatch> {
  const count = images.shape[0];
  for (let start = 0; start < count; start += size) {
    const n = Math.min(size, count - start);
    const batch: LabelledBatch = {
      x: tf.slice(images, [start, 0, 0, 0], [n, INPUT_SIZE, INPUT_SIZE, 1]),
      y: tf.slice(labels, [start], [n]),
    };
    try {
      yield batch;
    } finally {
      tf.dispose([batch.x, batch.y]);
    }
  }
}

function uploadSplit(split: PreparedSplit): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  return {
    images: tf.tensor4d(split.inputs, [split.count, INPUT_SIZE, INPUT_SIZE, 1]),
    labels: tf.tensor1d(Int32Array.from(split.labels), 'int32'),
  };
}

/**
 * WebGPU binds a tensor as one buffer: refuses a training split larger than the adapter allows, with what
 * to do, rather than a failed dispatch later. Other backends have no such limit.
 */
function checkFitsOneBuffer(split: PreparedSplit): void {
  const backend = tf.backend() as { device?: { limits?: { maxStorageBufferBindingSize?: number } } };
  const limit = backend.device?.limits?.maxStorageBufferBindingSize;
  if (limit === undefined || split.inputs.byteLength <= limit) return;
  const fits = Math.floor(limit / (INPUT_SIZE * INPUT_SIZE * 4));
  throw new CliError(
    `the ${split.count} training images need ${Math.ceil(split.inputs.byteLength / 2 ** 20)} MB in one GPU ` +
      `buffer, and this adapter binds at most ${Math.floor(limit / 2 ** 20)} MB: train on fewer with --limit ${fits}, ` +
      'or on another --gpu-adapter',
  );
}
