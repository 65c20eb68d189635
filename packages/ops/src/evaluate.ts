import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, logSoftmax } from './loss';
import { type LeNet5, NUM_CLASSES } from './model';

/** One batch of images `[n, 32, 32, 1]` float32 and their int32 class ids `[n]`. */
export interface LabelledBatch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /**
   * How many misclassified examples to return in {@link EvaluationResult.mistakes}, the worst by
   * cross-entropy first (default 0: none, and no `mistakes` in the result).
   */
  mistakes?: number;
}

/** A misclassified example, as {@link evaluate} reports it. */
export interface Mistake {
  /** The example's position in the order the batches gave them, from 0 across all batches. */
  index: number;
  /** The true class. */
  label: number;
  /** The most probable class (the argmax), which is not `label`. */
  predicted: number;
  /** The softmax probability of `predicted`, in (0, 1]. */
  probability: number;
  /** This example's cross-entropy, `-log softmax(logits)[label]`. */
  loss: number;
}

/** Metrics over a whole data set. */
export interface EvaluationResult {
  /** Mean cross-entropy over all examples. */
  loss: number;
  /** correct / count, in [0, 1]. */
  accuracy: number;
  /** Number of examples seen. */
  count: number;
  /** Number of examples whose most probable class is the label. */
  correct: number;
  /** 10x10 counts, `confusion[trueClass][predictedClass]`. */
  confusion: number[][];
  /**
   * With `options.mistakes` N > 0: the min(N, count - correct) misclassified examples of highest loss,
   * highest first (equal losses: lower index first). Absent otherwise.
   */
  mistakes?: Mistake[];
}

/**
 * Runs the model over every batch and returns loss, accuracy and the confusion matrix, and with
 * `options.mistakes` the worst misclassified examples. The batches stay owned by the caller (they are
 * not disposed); no tensor of this function survives it.
 * @throws RangeError when there are no batches, a label is not an integer in [0, 10), or
 * `options.mistakes` is not a whole number >= 0.
 */
export async function evaluate(
  model: LeNet5,
  batches: Iterable<LabelledBatch> | AsyncIterable<LabelledBatch>,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const keep = options.mistakes ?? 0;
  if (!(Number.isSafeInteger(keep) && keep >= 0)) {
    throw new RangeError(`evaluate: options.mistakes must be a whole number >= 0; got ${keep}.`);
  }
  const confusion = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  const worst = new WorstMistakes(keep);
  let lossSum = 0;
  let count = 0;
  let correct = 0;

  for await (const { x, y } of batches) {
    // Everything of a batch comes from one forward pass, read back at once: the mean loss, the argmax
    // and, when mistakes are wanted, each example's loss and the log-probability of its argmax.
    const [meanLoss, predicted, perExample] = tf.tidy(() => {
      const logits = model.forward(x);
      const meanLoss = crossEntropy(logits, y);
      const predicted = tf.argMax(logits, 1);
      if (keep === 0) return [meanLoss, predicted, undefined] as const;
      // As in crossEntropy: -sum(oneHot(label) * logSoftmax), per row. The argmax's log-probability is
      // the row's largest; labels out of range give a zero oneHot row and are refused below.
      const logProbs = logSoftmax(logits);
      const oneHot = tf.cast(tf.oneHot(y, NUM_CLASSES), 'float32');
      const losses = tf.neg(tf.sum(tf.mul(oneHot, logProbs), 1));
      return [meanLoss, predicted, tf.stack([losses, tf.max(logProbs, 1)])] as const;
    });
    try {
      const [lossData, predictedData, labelData, perExampleData] = await Promise.all([
        meanLoss.data(),
        predicted.data(),
        y.data(),
        perExample?.data(),
      ]);
      const n = labelData.length;
      for (let i = 0; i < n; i++) {
        const label = labelData[i]!;
        if (!(Number.isInteger(label) && label >= 0 && label < NUM_CLASSES)) {
          throw new RangeError(
            `evaluate: label ${label} at row ${i} of batch starting at example ${count} is not a class id 0-${NUM_CLASSES - 1}.`,
          );
        }
        const guess = predictedData[i]!;
        confusion[label]![guess]! += 1;
        if (guess === label) correct += 1;
        else if (perExampleData) {
          worst.offer(count + i, label, guess, perExampleData[i]!, perExampleData[n + i]!);
        }
      }
      // crossEntropy is a batch mean; weight it by the batch size so uneven last batches count right.
      lossSum += lossData[0]! * n;
      count += n;
    } finally {
      meanLoss.dispose();
      predicted.dispose();
      perExample?.dispose();
    }
  }

  if (count === 0) throw new RangeError('evaluate: got no examples. Pass at least one non-empty batch.');
  const result: EvaluationResult = {
    loss: lossSum / count,
    accuracy: correct / count,
    count,
    correct,
    confusion,
  };
  if (keep > 0) result.mistakes = worst.list;
  return result;
}

/**
 * The `capacity` mistakes of highest loss seen so far, sorted highest first: a bounded list kept by
 * insertion, so a data set of any size costs O(capacity) memory. Examples arrive in index order, and an
 * equal loss goes after those already kept, so ties keep the lower index. A NaN loss is never kept.
 */
class WorstMistakes {
  readonly list: Mistake[] = [];

  constructor(private readonly capacity: number) {}

  offer(index: number, label: number, predicted: number, loss: number, logProbability: number): void {
    const full = this.list.length === this.capacity;
    if (full && !(loss > this.list[this.list.length - 1]!.loss)) return;
    if (Number.isNaN(loss)) return;
    // The first position whose loss is lower than this one.
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid]!.loss >= loss) lo = mid + 1;
      else hi = mid;
    }
    this.list.splice(lo, 0, { index, label, predicted, probability: Math.exp(logProbability), loss });
    if (this.list.length > this.capacity) this.list.pop();
  }
}

/** Class probabilities for a batch `[n, 32, 32, 1]`, one Float32Array of 10 per image; leaves no tensor behind. */
export async function predictProbabilities(model: LeNet5, x: tf.Tensor4D): Promise<Float32Array[]> {
  const probabilities = model.predict(x);
  try {
    const flat = (await probabilities.data()) as Float32Array;
    const rows: Float32Array[] = [];
    for (let i = 0; i < flat.length; i += NUM_CLASSES) rows.push(flat.slice(i, i + NUM_CLASSES));
    return rows;
  } finally {
    probabilities.dispose();
  }
}
