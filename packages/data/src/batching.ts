import { dispose, type Tensor1D, type Tensor4D, tensor1d, tensor4d } from '@tensorflow/tfjs-core';
import { applyAugmentation } from './augmentation';
import { type BatchOptions, batchPlans } from './batch-plans';
import type { PreparedSplit } from './prepared-split';

const SIDE = 32;
const PIXELS = SIDE * SIDE;

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
 * Each is its {@link batchPlans} plan applied on the CPU.
 */
export function* batchArrays(split: PreparedSplit, options: BatchOptions): Generator<ArrayBatch> {
  for (const { size, indices, labels, augmentation } of batchPlans(split, options)) {
    // Fresh arrays per batch: tensors may keep them as their storage.
    const inputs = new Float32Array(size * PIXELS);
    for (let i = 0; i < size; i++) {
      const example = indices[i]!;
      const source = split.inputs.subarray(example * PIXELS, (example + 1) * PIXELS);
      const target = inputs.subarray(i * PIXELS, (i + 1) * PIXELS);
      if (augmentation) applyAugmentation(source, target, augmentation.params[i]!, augmentation.background);
      else target.set(source);
    }
    yield { inputs, labels, size, indices: Uint32Array.from(indices) };
  }
}
