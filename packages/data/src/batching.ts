import { dispose, type Tensor1D, type Tensor4D, tensor1d, tensor4d } from '@tensorflow/tfjs-core';
import type { MnistSplit } from './mnist';
import { createRng, deriveSeed, shuffleInPlace } from './random';
import { type Augmentation, augmentImage, type Preprocessing, preprocessImages } from './transforms';

const SIDE = 32;
const PIXELS = SIDE * SIDE;
/** Separate random streams per epoch, so turning augmentation on does not change the order. */
const SHUFFLE_STREAM = 1;
const AUGMENT_STREAM = 2;

/** A split ready for training: network inputs computed once (see preprocessImages) and labels. */
export interface PreparedSplit {
  count: number;
  /** count * 32 * 32 floats. */
  inputs: Float32Array;
  /** count labels 0..9. */
  labels: Uint8Array;
}

/** The first `limit` images of `split` (all when omitted), preprocessed once into model inputs. */
export function prepareSplit(split: MnistSplit, preprocessing: Preprocessing, limit?: number): PreparedSplit {
  const count = Math.min(split.count, limit ?? split.count);
  return {
    count,
    inputs: preprocessImages(split.images.subarray(0, count * 28 * 28), count, preprocessing),
    labels: split.labels.subarray(0, count),
  };
}

/**
 * One mini-batch. Its tensors belong to the generator that yielded it: they are disposed when the loop
 * asks for the next batch or stops, so use them inside the loop body and do not keep them.
 */
export interface Batch {
  /** [size, 32, 32, 1] float32 inputs. */
  x: Tensor4D;
  /** [size] int32 labels. */
  y: Tensor1D;
  size: number;
  /** Which examples of the split are in the batch, in batch order. */
  indices: Uint32Array;
}

/**
 * One mini-batch as plain arrays, for code that moves batches between threads or builds its own tensors
 * (see {@link batchArrays}). Each batch has arrays of its own.
 */
export interface ArrayBatch {
  /** size * 32 * 32 floats, NHWC. */
  inputs: Float32Array;
  /** size labels 0..9. */
  labels: Int32Array;
  size: number;
  /** Which examples of the split are in the batch, in batch order. */
  indices: Uint32Array;
}

/** Options of {@link batches} and {@link batchArrays}. */
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

/** How many batches {@link batches} yields for `count` examples. */
export function batchCount(count: number, batchSize: number, dropLast = false): number {
  checkBatchSize(batchSize);
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/**
 * Yields one epoch of mini-batches of `split` as tensors. Each batch's tensors are disposed when the
 * consumer asks for the next batch or leaves the loop (break, return, throw), so a for-of loop leaks no
 * tensors; the caller must not keep `x` or `y` past the iteration (clone them if needed).
 */
export function* batches(split: PreparedSplit, options: BatchOptions): Generator<Batch> {
  for (const { inputs, labels, size, indices } of batchArrays(split, options)) {
    const batch: Batch = {
      x: tensor4d(inputs, [size, SIDE, SIDE, 1], 'float32'),
      y: tensor1d(labels, 'int32'),
      size,
      indices,
    };
    try {
      yield batch;
    } finally {
      dispose([batch.x, batch.y]);
    }
  }
}

/**
 * The same epoch of mini-batches as {@link batches} (same order, same distortions for the same options),
 * as plain arrays and without tfjs: for worker threads, Web Workers, or code that makes its own tensors.
 */
export function* batchArrays(split: PreparedSplit, options: BatchOptions): Generator<ArrayBatch> {
  const { batchSize, shuffle = false, seed = 0, epoch = 0, augment, dropLast = false } = options;
  checkBatchSize(batchSize);
  if (split.inputs.length !== split.count * PIXELS || split.labels.length !== split.count) {
    throw new RangeError(
      `PreparedSplit of ${split.count} examples needs ${split.count * PIXELS} inputs and ${split.count} labels, ` +
        `got ${split.inputs.length} and ${split.labels.length}.`,
    );
  }
  const order = new Uint32Array(split.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (shuffle) shuffleInPlace(order, createRng(deriveSeed(seed, epoch, SHUFFLE_STREAM)));
  const used = Math.min(split.count, Math.max(0, options.limit ?? split.count));
  const augmentRng = augment ? createRng(deriveSeed(seed, epoch, AUGMENT_STREAM)) : null;
  const total = batchCount(used, batchSize, dropLast);

  for (let b = 0; b < total; b++) {
    const indices = order.slice(b * batchSize, Math.min((b + 1) * batchSize, used));
    const size = indices.length;
    // Fresh arrays per batch: tensors may keep them as their storage.
    const inputs = new Float32Array(size * PIXELS);
    const labels = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const example = indices[i]!;
      const source = split.inputs.subarray(example * PIXELS, (example + 1) * PIXELS);
      const target = inputs.subarray(i * PIXELS, (i + 1) * PIXELS);
      if (augment && augmentRng) augmentImage(source, target, augmentRng, augment, augment.background);
      else target.set(source);
      labels[i] = split.labels[example]!;
    }
    yield { inputs, labels, size, indices };
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  }
}
