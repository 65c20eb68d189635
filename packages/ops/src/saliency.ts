import * as tf from '@tensorflow/tfjs-core';
import { INPUT_SIZE, InputShapeError, type LeNet5, NUM_CLASSES } from './model';

/** Options of {@link saliency}. */
export interface SaliencyOptions {
  /** The class to explain, 0-9. Default: the predicted one (the argmax of the logits). */
  digit?: number;
}

/** What {@link saliency} found for one image. */
export interface Saliency {
  /** The class explained: the predicted digit unless {@link SaliencyOptions.digit} chose another. */
  digit: number;
  /** That class's logit (its score before softmax) for the image. */
  score: number;
  /**
   * d score / d pixel for each of the 32x32 input pixels, row-major (`gradient[row * 32 + column]`), in the
   * units of the model's input (after the preprocessing). Positive where more ink would raise the score.
   */
  gradient: Float32Array;
}

const PIXELS = INPUT_SIZE * INPUT_SIZE;

/**
 * A saliency map: the gradient of one class's score with respect to the 32x32 input of one image
 * `[1, 32, 32, 1]` (a tensor, or its 1,024 float32 values row-major), by `tf.valueAndGrad` through
 * {@link LeNet5.forward}. The score is the class's logit, before softmax: a confident model's softmax
 * probability saturates near 1, so its gradient (p(1-p) times the logit's) vanishes and the map would show
 * nothing but rounding noise; the logit's gradient keeps its size however sure the model is.
 * Runs on any backend with the gradients of conv2d, pooling and the activation. The input stays owned by the
 * caller; no tensor of this function survives it.
 * @throws {@link InputShapeError} for anything but one float32 image of 32x32x1.
 * @throws RangeError for a `digit` that is not an integer 0-9, or an image whose logits are not finite
 *   (NaN or infinite pixels or weights).
 */
export async function saliency(
  model: LeNet5,
  input: tf.Tensor4D | Float32Array,
  options: SaliencyOptions = {},
): Promise<Saliency> {
  const chosen = options.digit;
  if (chosen !== undefined && !(Number.isInteger(chosen) && chosen >= 0 && chosen < NUM_CLASSES)) {
    throw new RangeError(`saliency: digit ${chosen} is not a class id 0-${NUM_CLASSES - 1}.`);
  }
  const owned = input instanceof Float32Array ? imageTensor(input) : undefined;
  const x = owned ?? (input as tf.Tensor4D);
  try {
    if (x.rank === 4 && x.shape[0] !== 1) {
      throw new InputShapeError(
        `saliency explains one image [1, ${INPUT_SIZE}, ${INPUT_SIZE}, 1]; got shape [${x.shape.join(', ')}]. ` +
          'Take one image of the batch with tf.slice.',
      );
    }
    const digit = chosen ?? predictedDigit(await readLogits(model, x));
    const pick = (image: tf.Tensor4D): tf.Scalar =>
      tf.reshape(tf.slice(model.forward(image), [0, digit], [1, 1]), []) as tf.Scalar;
    const { value, grad } = tf.valueAndGrad(pick)(x);
    try {
      const [score] = await value.data();
      if (!Number.isFinite(score)) throw nonFinite(score!);
      // A copy: the backend's own buffer is not ours to hand out.
      return { digit, score: score!, gradient: Float32Array.from(await grad.data()) };
    } finally {
      tf.dispose([value, grad]);
    }
  } finally {
    owned?.dispose();
  }
}

function imageTensor(values: Float32Array): tf.Tensor4D {
  if (values.length !== PIXELS) {
    throw new InputShapeError(
      `saliency expects the ${PIXELS} float32 values of one ${INPUT_SIZE}x${INPUT_SIZE} image, row-major; ` +
        `got ${values.length}. Preprocess the digit to 32x32 first.`,
    );
  }
  return tf.tensor4d(values, [1, INPUT_SIZE, INPUT_SIZE, 1], 'float32');
}

async function readLogits(model: LeNet5, x: tf.Tensor4D): Promise<Float32Array> {
  const logits = model.forward(x);
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
  }
}

/** The first class with the largest logit, as tf.argMax picks it. */
function predictedDigit(logits: Float32Array): number {
  let best = 0;
  for (let k = 0; k < logits.length; k++) {
    if (!Number.isFinite(logits[k])) throw nonFinite(logits[k]!);
    if (logits[k]! > logits[best]!) best = k;
  }
  return best;
}

function nonFinite(value: number): RangeError {
  return new RangeError(
    `saliency: the model's logits for this image are not finite (${value}). ` +
      'Check that the image holds finite pixels and the weights are finite (findNonFiniteWeights).',
  );
}
