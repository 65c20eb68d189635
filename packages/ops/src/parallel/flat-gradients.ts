import * as tf from '@tensorflow/tfjs-core';
import type { FusedAdamOptimizer } from '../fused-adam';
import { INPUT_SIZE, type LeNet5, PARAM_NAMES, PARAM_SHAPES, type ParamName } from '../model';

// Data-parallel training moves gradients between replicas (workers, threads, machines) as one flat
// Float32Array in PARAM_NAMES order: one buffer to transfer, sum and apply, whatever the transport.

/** Number of floats in a flat gradient (or weight) vector: 61,706, every parameter in PARAM_NAMES order. */
export const FLAT_PARAMETER_COUNT = PARAM_NAMES.reduce(
  (total, name) => total + PARAM_SHAPES[name].reduce((a, b) => a * b, 1),
  0,
);

/** A shard's mean loss and the gradient of that mean loss, flat in PARAM_NAMES order. */
export interface ShardGradients {
  /** Mean cross-entropy over the shard. */
  loss: number;
  /** d(loss)/d(parameters), {@link FLAT_PARAMETER_COUNT} floats in PARAM_NAMES order. */
  gradients: Float32Array;
  /** Number of images in the shard, the weight of this shard in {@link sumShardGradients}. */
  count: number;
}

/**
 * Mean loss and flat gradients of `model` on `count` images (`x`: count·32·32 floats, NHWC) with
 * class ids `labels`, the gradients written to `into` when given ({@link FLAT_PARAMETER_COUNT}
 * floats), else to a new array. Leaves `tf.memory().numTensors` unchanged; the model is not updated.
 */
export async function computeGradients(
  model: LeNet5,
  x: Float32Array,
  labels: Int32Array | Uint8Array,
  count: number,
  into?: Float32Array,
): Promise<ShardGradients> {
  const pixels = INPUT_SIZE * INPUT_SIZE;
  if (!(Number.isInteger(count) && count >= 1) || x.length < count * pixels || labels.length < count) {
    throw new RangeError(
      `computeGradients needs ${count} images of ${INPUT_SIZE}x${INPUT_SIZE} (${count * pixels} floats) and ${count} labels; ` +
        `got ${x.length} floats and ${labels.length} labels. Pass count >= 1 and arrays at least that long.`,
    );
  }
  const { value, grads } = tf.tidy(() => {
    const images = tf.tensor4d(x.subarray(0, count * pixels), [count, INPUT_SIZE, INPUT_SIZE, 1]);
    const ids = tf.tensor1d(Int32Array.from(labels.subarray(0, count)), 'int32');
    return model.lossAndGradients(images, ids);
  });
  try {
    const loss = (await value.data())[0]!;
    const gradients = into ?? new Float32Array(FLAT_PARAMETER_COUNT);
    if (gradients.length !== FLAT_PARAMETER_COUNT) {
      throw new RangeError(
        `computeGradients writes ${FLAT_PARAMETER_COUNT} floats; 'into' holds ${gradients.length}.`,
      );
    }
    let offset = 0;
    for (const variable of model.variables()) {
      const gradient = grads[variable.name]!;
      await readInto(gradient, gradients, offset);
      offset += gradient.size;
    }
    return { loss, gradients, count };
  } finally {
    value.dispose();
    tf.dispose(grads);
  }
}

/** The one method of the wasm backend that {@link readInto} uses: a view of a tensor's values in its heap. */
interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * Copies a float32 tensor's values into `target` at `offset`. On the wasm backend straight from its
 * heap: `data()` would first copy them into a new buffer, and new buffers of this size cost page
 * faults on every step (glibc hands them back to the kernel when freed), most of a replica's time
 * outside the kernels at batch 64. Elsewhere through `data()`.
 */
async function readInto(tensor: tf.Tensor, target: Float32Array, offset: number): Promise<void> {
  const backend = tf.engine().backend as unknown as Partial<HeapBackend>;
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function') {
    target.set(backend.typedArrayFromHeap(tensor), offset);
  } else {
    target.set((await tensor.data()) as Float32Array, offset);
  }
}

/**
 * Sums shards' gradients weighted by their share of the batch, `Σ (countᵢ / N) · gᵢ`, which is the
 * gradient of the mean loss over the whole batch; likewise the loss. Sums in the order given, so
 * every replica that sums the same shards gets bit-identical results. The sum goes to `into` when
 * given, else to a new array.
 */
export function sumShardGradients(shards: readonly ShardGradients[], into?: Float32Array): ShardGradients {
  if (shards.length === 0) throw new RangeError('sumShardGradients needs at least one shard.');
  // One shard is the whole batch's gradient already: hand it on as it is, without a copy.
  if (shards.length === 1) return checkedShard(shards[0]!);
  const total = shards.reduce((sum, shard) => sum + shard.count, 0);
  const gradients = into ?? new Float32Array(FLAT_PARAMETER_COUNT);
  if (gradients.length !== FLAT_PARAMETER_COUNT) {
    throw new RangeError(
      `sumShardGradients writes ${FLAT_PARAMETER_COUNT} floats; 'into' holds ${gradients.length}.`,
    );
  }
  let loss = 0;
  shards.forEach((shard, k) => {
    checkedShard(shard);
    const weight = shard.count / total;
    loss += weight * shard.loss;
    // The first shard sets the sum, the rest add to it: the same roundings as adding all to zeros.
    if (k === 0) setScaled(gradients, shard.gradients, weight);
    else addScaled(gradients, shard.gradients, weight);
  });
  return { loss, gradients, count: total };
}

// The two loops of sumShardGradients, apart: inlined into its loop over shards they ran about twice as slow.
/** to[i] = 0 + weight · from[i] (0 + turns -0 into 0, as adding to zeros does). */
function setScaled(to: Float32Array, from: Float32Array, weight: number): void {
  for (let i = 0; i < to.length; i++) to[i] = 0 + weight * from[i]!;
}

/** to[i] += weight · from[i]. */
function addScaled(to: Float32Array, from: Float32Array, weight: number): void {
  for (let i = 0; i < to.length; i++) to[i]! += weight * from[i]!;
}

function checkedShard(shard: ShardGradients): ShardGradients {
  if (shard.gradients.length !== FLAT_PARAMETER_COUNT) {
    throw new RangeError(
      `A shard's gradients hold ${shard.gradients.length} floats; LeNet-5 has ${FLAT_PARAMETER_COUNT}. ` +
        'Compute them with computeGradients.',
    );
  }
  return shard;
}

/**
 * Applies flat gradients (PARAM_NAMES order) to `model` with `optimizer`, exactly as
 * `optimizer.applyGradients` would with the same gradients as tensors. Leaves no tensors behind
 * except the optimizer's own slots on its first step.
 */
export function applyGradients(model: LeNet5, optimizer: tf.Optimizer, gradients: Float32Array): void {
  if (gradients.length !== FLAT_PARAMETER_COUNT) {
    throw new RangeError(
      `applyGradients needs ${FLAT_PARAMETER_COUNT} floats in PARAM_NAMES order; got ${gradients.length}.`,
    );
  }
  // The fused Adam updates the whole model in one call, in place, where the backend can. (Not
  // `instanceof`: tfjs's optimizers answer it for any optimizer.)
  const flatAdam = (optimizer as Partial<FusedAdamOptimizer>).applyFlatGradients;
  if (typeof flatAdam === 'function' && flatAdam.call(optimizer, model.variables(), gradients)) return;
  tf.tidy(() => {
    const named: Record<string, tf.Tensor> = {};
    let offset = 0;
    PARAM_NAMES.forEach((name, index) => {
      const shape = [...PARAM_SHAPES[name]];
      const size = shape.reduce((a, b) => a * b, 1);
      named[model.variables()[index]!.name] = tf.tensor(gradients.subarray(offset, offset + size), shape);
      offset += size;
    });
    optimizer.applyGradients(named);
  });
}

/** The model's weights, flat in PARAM_NAMES order ({@link FLAT_PARAMETER_COUNT} floats). */
export async function flatWeights(model: LeNet5): Promise<Float32Array> {
  const weights = new Float32Array(FLAT_PARAMETER_COUNT);
  let offset = 0;
  for (const variable of model.variables()) {
    const values = (await variable.data()) as Float32Array;
    weights.set(values, offset);
    offset += values.length;
  }
  return weights;
}

/** Flat PARAM_NAMES-order weights (from {@link flatWeights}) as the per-parameter views `setWeights` takes. */
export function unflattenWeights(flat: Float32Array): Record<ParamName, Float32Array> {
  if (flat.length !== FLAT_PARAMETER_COUNT) {
    throw new RangeError(`Flat weights hold ${flat.length} floats; LeNet-5 has ${FLAT_PARAMETER_COUNT}.`);
  }
  const named = {} as Record<ParamName, Float32Array>;
  let offset = 0;
  for (const name of PARAM_NAMES) {
    const size = PARAM_SHAPES[name].reduce((a, b) => a * b, 1);
    named[name] = flat.subarray(offset, offset + size);
    offset += size;
  }
  return named;
}

/**
 * Splits `count` images into `shards` contiguous ranges `[start, end)` whose sizes differ by at most
 * one; never returns an empty range (fewer ranges when count < shards).
 */
export function shardRanges(count: number, shards: number): Array<[number, number]> {
  const used = Math.max(1, Math.min(count, shards));
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < used; i++) {
    const size = Math.floor(count / used) + (i < count % used ? 1 : 0);
    ranges.push([start, start + size]);
    start += size;
  }
  return ranges;
}
