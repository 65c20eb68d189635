import { AUGMENT_TRANSFORM_FLOATS, writeAugmentTransform } from './augment-transform';
import { type Augmentation, type AugmentationParams, drawAugmentation } from './augmentation';
import { checkPreparedSplit, type PreparedSplit } from './prepared-split';
import { createRng, deriveSeed, shuffleInPlace } from './random';

const PIXELS = 32 * 32;
/** Separate random streams per epoch, so turning augmentation on does not change the order. */
const SHUFFLE_STREAM = 1;
const AUGMENT_STREAM = 2;

/** Options of {@link batchPlans}, `batches` and `batchArrays`. */
export interface BatchOptions {
  batchSize: number;
  /** Visit examples in a random order (default false: 0, 1, 2, ...). */
  shuffle?: boolean;
  /** Seed of the order and the augmentation (default 0). */
  seed?: number;
  /** Epoch number: each epoch gets its own order and distortions, reproducible from (seed, epoch). Default 0. */
  epoch?: number;
  /** Distort each example randomly; `background` is the input value of a black pixel. */
  augment?: Augmentation & { background: number };
  /** Skip the last batch if it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Use only this many examples: the first of the (shuffled) order. Default: all. */
  limit?: number;
}

/**
 * What one mini-batch is made of, without its pixels: which examples, their labels, and each one's
 * distortion. `batchArrays` applies it on the CPU; a GPU engine gathers and distorts the examples on
 * the device from a copy of the split there. Each plan has arrays of its own.
 */
export interface BatchPlan {
  size: number;
  /** Which examples of the split are in the batch, in batch order (int32, as tf.gather takes them). */
  indices: Int32Array;
  /** size labels 0..9, in batch order. */
  labels: Int32Array;
  /** Present when the options augment. */
  augmentation?: {
    /** Each example's distortion as drawn, in batch order: what `applyAugmentation` takes. */
    params: AugmentationParams[];
    /** The same distortions as a GPU applies them: size * AUGMENT_TRANSFORM_FLOATS floats (augment-transform.ts). */
    transforms: Float32Array;
    /** The input value of a black pixel, for what comes from outside the image. */
    background: number;
  };
}

/** How many batches {@link batchPlans} (and `batches`) yields for `count` examples. */
export function batchCount(count: number, batchSize: number, dropLast = false): number {
  checkBatchSize(batchSize);
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/**
 * The plans of one epoch of mini-batches of `split`: the order (seeded shuffle) and the distortions
 * (seeded, four numbers per example in batch order) that `batches` and `batchArrays` use, so that
 * applying a plan gives exactly their batch.
 */
export function* batchPlans(split: PreparedSplit, options: BatchOptions): Generator<BatchPlan> {
  const { batchSize, shuffle = false, seed = 0, epoch = 0, augment, dropLast = false } = options;
  checkBatchSize(batchSize);
  checkPreparedSplit(split, PIXELS);
  const order = new Uint32Array(split.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (shuffle) shuffleInPlace(order, createRng(deriveSeed(seed, epoch, SHUFFLE_STREAM)));
  const used = Math.min(split.count, Math.max(0, options.limit ?? split.count));
  const augmentRng = augment ? createRng(deriveSeed(seed, epoch, AUGMENT_STREAM)) : null;
  const total = batchCount(used, batchSize, dropLast);

  for (let b = 0; b < total; b++) {
    const indices = Int32Array.from(order.subarray(b * batchSize, Math.min((b + 1) * batchSize, used)));
    const size = indices.length;
    const labels = new Int32Array(size);
    for (let i = 0; i < size; i++) labels[i] = split.labels[indices[i]!]!;
    const plan: BatchPlan = { size, indices, labels };
    if (augment && augmentRng) {
      const params: AugmentationParams[] = [];
      const transforms = new Float32Array(size * AUGMENT_TRANSFORM_FLOATS);
      for (let i = 0; i < size; i++) {
        const p = drawAugmentation(augmentRng, augment);
        params.push(p);
        writeAugmentTransform(p, transforms, i * AUGMENT_TRANSFORM_FLOATS);
      }
      plan.augmentation = { params, transforms, background: augment.background };
    }
    yield plan;
  }
}

/** Throws a RangeError unless `batchSize` is a positive integer. */
export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  }
}
