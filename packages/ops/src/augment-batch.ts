import * as tf from '@tensorflow/tfjs-core';
import { AugmentBatch, type AugmentBatchAttrs, type AugmentBatchInputs } from './kernel-names';
import { INPUT_SIZE } from './model';

/** Floats per image in a transform: `@lenet/data`'s AUGMENT_TRANSFORM_FLOATS. */
const TRANSFORM_FLOATS = 8;

/**
 * A training batch made on the device from a split held there: image i is `images[indices[i]]`,
 * distorted by transform i (rotation and zoom about the centre, then a shift, sampled bilinearly, with
 * `background` outside the image) as `@lenet/data`'s `applyAugmentation` distorts it, within float32
 * rounding. The transforms are a batch plan's `augmentation.transforms` ([n, 8], see
 * {@link AugmentBatchInputs}); without them (null or undefined) the images are gathered as they are.
 *
 * Runs the {@link AugmentBatch} kernel where the active backend registers one (`@lenet/kernels` does on
 * webgpu), else stock tfjs ops that compute the same float32 arithmetic. Returns a new tensor; the
 * inputs stay the caller's.
 * @param images [N, 32, 32, 1] float32.
 * @param indices [n] int32, each in [0, N).
 */
export function augmentBatch(
  images: tf.Tensor4D,
  indices: tf.Tensor1D,
  transforms?: tf.Tensor2D | null,
  background = 0,
): tf.Tensor4D {
  checkInputs(images, indices, transforms);
  if (transforms == null) return tf.gather(images, indices);
  if (tf.getKernel(AugmentBatch, tf.getBackend()) != null) {
    const inputs: AugmentBatchInputs = { images, indices, transforms };
    const attrs: AugmentBatchAttrs = { background };
    return tf
      .engine()
      .runKernel(
        AugmentBatch,
        inputs as unknown as tf.NamedTensorMap,
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor4D;
  }
  return augmentWithStockOps(images, indices, transforms, background);
}

/**
 * The kernel's arithmetic in stock ops, step for step (see {@link AugmentBatchInputs}). Not
 * tf.image.transform: its cpu kernel (tfjs 4.22) fills every image after a batch's first with the fill
 * value, and its one float32 matrix in pixel coordinates puts sources a few 1e-6 of a pixel off, which
 * on a digit's sharp edge moves a value by up to about 1e-5 (the split transform avoids that).
 */
function augmentWithStockOps(
  images: tf.Tensor4D,
  indices: tf.Tensor1D,
  transforms: tf.Tensor2D,
  background: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = indices.shape[0];
    const side = INPUT_SIZE;
    const center = (side - 1) / 2;
    const { add, sub, mul } = tf;
    const [aH, bH, txH, tyH, aL, bL, txL, tyL] = tf
      .unstack(transforms, 1)
      .map((column) => tf.reshape(column, [n, 1, 1])) as tf.Tensor3D[];
    const offsets = sub(tf.range(0, side, 1, 'float32'), center);
    const u = tf.reshape(offsets, [1, 1, side]);
    const v = tf.reshape(offsets, [1, side, 1]);
    // Per image, one term varies along a row and the other down a column: one full-size add each.
    const highX = add(mul(aH!, u), add(mul(bH!, v), add(txH!, center)));
    const lowX = add(mul(aL!, u), add(mul(bL!, v), txL!));
    const highY = add(mul(tf.neg(bH!), u), add(mul(aH!, v), add(tyH!, center)));
    const lowY = add(mul(tf.neg(bL!), u), add(mul(aL!, v), tyL!));
    const x0 = tf.floor(add(highX, lowX));
    const y0 = tf.floor(add(highY, lowY));
    const fx = add(sub(highX, x0), lowX);
    const fy = add(sub(highY, y0), lowY);

    // The batch's images with a one-pixel border of background: a neighbour clamped to [-1, side] reads
    // that border exactly where it lies outside the image.
    const padded = side + 2;
    const batch = tf.reshape(tf.gather(images, indices), [n, side, side]);
    const border: Array<[number, number]> = [
      [0, 0],
      [1, 1],
      [1, 1],
    ];
    const pixels = tf.reshape(tf.pad(batch, border, background), [n, padded * padded]);
    const column = (x: tf.Tensor) => tf.cast(add(tf.clipByValue(x, -1, side), 1), 'int32');
    const row = (y: tf.Tensor) => mul(column(y), tf.scalar(padded, 'int32'));
    const [left, right, upper, lower] = [column(x0), column(add(x0, 1)), row(y0), row(add(y0, 1))];
    const at = (r: tf.Tensor, c: tf.Tensor) =>
      tf.reshape(tf.gather(pixels, tf.reshape(add(r, c), [n, side * side]), 1, 1), [n, side, side]);
    const [p00, p01, p10, p11] = [at(upper, left), at(upper, right), at(lower, left), at(lower, right)];
    const top = add(p00, mul(sub(p01, p00), fx));
    const bottom = add(p10, mul(sub(p11, p10), fx));
    return tf.reshape(add(top, mul(sub(bottom, top), fy)), [n, side, side, 1]) as tf.Tensor4D;
  });
}

function checkInputs(images: tf.Tensor4D, indices: tf.Tensor1D, transforms?: tf.Tensor2D | null): void {
  const [, h, w, c] = images.shape;
  if (images.rank !== 4 || h !== INPUT_SIZE || w !== INPUT_SIZE || c !== 1 || images.dtype !== 'float32') {
    throw new RangeError(
      `augmentBatch needs images as a float32 tensor of shape [N, ${INPUT_SIZE}, ${INPUT_SIZE}, 1]; ` +
        `got ${images.dtype} [${images.shape}].`,
    );
  }
  if (indices.rank !== 1 || indices.dtype !== 'int32' || indices.shape[0] < 1) {
    throw new RangeError(
      `augmentBatch needs indices as an int32 tensor of shape [n], n >= 1; got ${indices.dtype} [${indices.shape}].`,
    );
  }
  if (
    transforms != null &&
    (transforms.rank !== 2 ||
      transforms.shape[0] !== indices.shape[0] ||
      transforms.shape[1] !== TRANSFORM_FLOATS ||
      transforms.dtype !== 'float32')
  ) {
    throw new RangeError(
      `augmentBatch needs one transform of ${TRANSFORM_FLOATS} floats per index, a float32 tensor of shape ` +
        `[${indices.shape[0]}, ${TRANSFORM_FLOATS}] (a batch plan's augmentation.transforms); got ` +
        `${transforms.dtype} [${transforms.shape}].`,
    );
  }
}
