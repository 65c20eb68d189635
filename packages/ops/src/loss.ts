import * as tf from '@tensorflow/tfjs-core';

// Numerical stability: softmax(z) = softmax(z - c) for any per-row constant c. With c = the row's
// maximum, every exponent is <= 0, so exp() never overflows and the largest term is exactly 1.
// The seed blog's numpy softmax subtracts np.argmax(arr), the *index* of the maximum (0, 1 or 2),
// not the maximum itself: a bug that overflows to inf/inf = NaN as soon as a logit exceeds ~88.

/** Softmax over the last axis of `[n, k]` logits, stable for any finite logits. */
export function softmax(logits: tf.Tensor2D): tf.Tensor2D {
  assertLogits(logits, 'softmax');
  return tf.tidy(() => {
    const exps = tf.exp(tf.sub(logits, tf.max(logits, 1, true)));
    return tf.div(exps, tf.sum(exps, 1, true));
  });
}

/** log(softmax(logits)) over the last axis, computed as `z - max - log(sum(exp(z - max)))` so it never yields -inf for finite logits. */
export function logSoftmax(logits: tf.Tensor2D): tf.Tensor2D {
  assertLogits(logits, 'logSoftmax');
  return tf.tidy(() => {
    const shifted = tf.sub(logits, tf.max(logits, 1, true));
    return tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), 1, true)));
  });
}

/**
 * Mean cross-entropy of `[n, k]` logits against `[n]` int32 class ids: mean over rows of -log softmax(logits)[label].
 * Its gradient w.r.t. the logits is the exact fused form (softmax - oneHot(labels)) / n.
 * Labels outside [0, k) are not checked here (that would need a read from the device); they count as zero loss.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  assertLogits(logits, 'crossEntropy');
  const [rows, classes] = logits.shape;
  assertLabels(labels, rows, classes);
  // Labels are closed over rather than passed in: they are not differentiable.
  // tfjs types customGrad's arguments as one (Tensor | GradSaveFunc)[] list: input first, save last.
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const oneHot = tf.cast(tf.oneHot(labels, classes), 'float32');
    const logProbs = logSoftmax(z);
    save([tf.exp(logProbs), oneHot]);
    const value = tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), 1))) as tf.Scalar;
    const gradFunc = (dy: tf.Scalar, saved: tf.Tensor[]) => {
      const [probs, target] = saved as [tf.Tensor, tf.Tensor];
      return tf.mul(dy, tf.div(tf.sub(probs, target), rows));
    };
    return { value, gradFunc };
  });
  return fused(logits);
}

/** Throws unless `labels` are `rows` int32 class ids, as {@link crossEntropy} takes them for `[rows, classes]` logits. */
export function assertLabels(labels: tf.Tensor, rows: number, classes: number): void {
  if (labels.rank !== 1 || labels.shape[0] !== rows) {
    throw new RangeError(
      `crossEntropy: labels must have shape [${rows}] to match logits [${rows}, ${classes}]; got [${labels.shape.join(', ')}].`,
    );
  }
  if (labels.dtype !== 'int32') {
    throw new TypeError(
      `crossEntropy: labels must be int32 class ids; got ${labels.dtype}. Build them with tf.tensor1d(ids, 'int32').`,
    );
  }
}

function assertLogits(logits: tf.Tensor, fn: string): void {
  if (logits.rank !== 2 || logits.shape[0]! < 1 || logits.shape[1]! < 1) {
    throw new RangeError(`${fn}: expected logits of shape [n, classes]; got [${logits.shape.join(', ')}].`);
  }
  if (logits.dtype !== 'float32') {
    throw new TypeError(
      `${fn}: expected float32 logits; got ${logits.dtype}. Convert with tf.cast(logits, 'float32').`,
    );
  }
}
