import * as tf from '@tensorflow/tfjs-core';
import { INPUT_SIZE, type LeNet5, NUM_CLASSES } from '../model';

/**
 * The logits of `model` for `count` images (`x`: count·32·32 floats, NHWC): count·10 floats, row-major,
 * in an array of their own (its buffer can be transferred). Leaves `tf.memory().numTensors` unchanged.
 */
export async function computeLogits(model: LeNet5, x: Float32Array, count: number): Promise<Float32Array> {
  const pixels = INPUT_SIZE * INPUT_SIZE;
  if (!(Number.isInteger(count) && count >= 1) || x.length < count * pixels) {
    throw new RangeError(
      `computeLogits needs ${count} images of ${INPUT_SIZE}x${INPUT_SIZE} (${count * pixels} floats); ` +
        `got ${x.length} floats. Pass count >= 1 and an array at least that long.`,
    );
  }
  const logits = tf.tidy(() =>
    model.forward(tf.tensor4d(x.subarray(0, count * pixels), [count, INPUT_SIZE, INPUT_SIZE, 1])),
  );
  try {
    // A copy (10 floats an image, against 1,024 read in): the cpu backend hands out the very array it
    // keeps, and this one's buffer is transferred, which detaches it.
    const values = new Float32Array(count * NUM_CLASSES);
    values.set((await logits.data()) as Float32Array);
    return values;
  } finally {
    logits.dispose();
  }
}
