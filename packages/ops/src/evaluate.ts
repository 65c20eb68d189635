import type * as tf from '@tensorflow/tfjs-core';
import { assertLabels } from './loss';
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
 * not disposed); no tensor of this function survives it. The metrics come from each batch's logits
 * through {@link EvaluationMetrics}, as they do where the logits come from elsewhere (worker threads,
 * `ParallelCoordinator.logits`), so every path gives the same numbers for the same logits.
 * @throws RangeError when there are no batches, a label is not an integer in [0, 10), or
 * `options.mistakes` is not a whole number >= 0.
 */
export async function evaluate(
  model: LeNet5,
  batches: Iterable<LabelledBatch> | AsyncIterable<LabelledBatch>,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const metrics = new EvaluationMetrics(options);
  for await (const { x, y } of batches) {
    assertLabels(y, x.shape[0], NUM_CLASSES);
    const logits = model.forward(x);
    try {
      const [logitData, labelData] = await Promise.all([logits.data(), y.data()]);
      metrics.add(logitData as Float32Array, labelData);
    } finally {
      logits.dispose();
    }
  }
  return metrics.result();
}

/**
 * The metrics of {@link evaluate} from logits: add each batch's logits (`n·10` floats, row-major) and
 * labels in example order, then read {@link EvaluationMetrics.result}. Plain arrays only, no tensor, so
 * logits computed anywhere (this thread, worker threads, another backend) give the same result for the
 * same values. Each example's cross-entropy and softmax are computed in float64 from its logits, as
 * `-log softmax(z)[label] = max + log Σ exp(z - max) - z[label]`.
 */
export class EvaluationMetrics {
  private readonly confusion = Array.from({ length: NUM_CLASSES }, () =>
    new Array<number>(NUM_CLASSES).fill(0),
  );
  private readonly worst: WorstMistakes | undefined;
  private lossSum = 0;
  private seen = 0;
  private correct = 0;

  /** @throws RangeError when `options.mistakes` is not a whole number >= 0. */
  constructor(options: EvaluateOptions = {}) {
    const keep = options.mistakes ?? 0;
    if (!(Number.isSafeInteger(keep) && keep >= 0)) {
      throw new RangeError(`evaluate: options.mistakes must be a whole number >= 0; got ${keep}.`);
    }
    this.worst = keep > 0 ? new WorstMistakes(keep) : undefined;
  }

  /** Number of examples added so far. */
  get count(): number {
    return this.seen;
  }

  /**
   * Adds one batch: `labels.length` examples, their logits `labels.length·10` floats, row-major. The
   * examples get the indices that follow the ones added before. A bad batch changes nothing.
   * @throws RangeError when the lengths do not match or a label is not an integer in [0, 10).
   */
  add(logits: ArrayLike<number>, labels: ArrayLike<number>): void {
    const n = labels.length;
    if (logits.length !== n * NUM_CLASSES) {
      throw new RangeError(
        `evaluate: ${n} labels need ${n * NUM_CLASSES} logits (${NUM_CLASSES} per example); got ${logits.length}.`,
      );
    }
    for (let i = 0; i < n; i++) {
      const label = labels[i]!;
      if (!(Number.isInteger(label) && label >= 0 && label < NUM_CLASSES)) {
        throw new RangeError(
          `evaluate: label ${label} at row ${i} of batch starting at example ${this.seen} is not a class id 0-${NUM_CLASSES - 1}.`,
        );
      }
    }
    for (let i = 0; i < n; i++) {
      const label = labels[i]!;
      const row = i * NUM_CLASSES;
      // The argmax (the first of equal maxima, as tf.argMax) is also the shift that keeps exp() finite.
      let guess = 0;
      for (let k = 1; k < NUM_CLASSES; k++) if (logits[row + k]! > logits[row + guess]!) guess = k;
      const max = logits[row + guess]!;
      let sum = 0;
      for (let k = 0; k < NUM_CLASSES; k++) sum += Math.exp(logits[row + k]! - max);
      const logSum = Math.log(sum);
      const loss = max + logSum - logits[row + label]!;
      this.lossSum += loss;
      this.confusion[label]![guess]! += 1;
      if (guess === label) this.correct += 1;
      // The argmax's log-probability is -logSum: its shifted logit is 0.
      else this.worst?.offer(this.seen + i, label, guess, loss, -logSum);
    }
    this.seen += n;
  }

  /**
   * The metrics of every example added so far (a snapshot: adding more later does not change it).
   * @throws RangeError when none was added.
   */
  result(): EvaluationResult {
    if (this.seen === 0) {
      throw new RangeError('evaluate: got no examples. Pass at least one non-empty batch.');
    }
    const result: EvaluationResult = {
      loss: this.lossSum / this.seen,
      accuracy: this.correct / this.seen,
      count: this.seen,
      correct: this.correct,
      confusion: this.confusion.map((row) => [...row]),
    };
    if (this.worst) result.mistakes = [...this.worst.list];
    return result;
  }
}

/**
 * {@link EvaluationMetrics} of `count` examples at once: `logits` `count·10` floats, row-major, and
 * their labels, e.g. what `ParallelCoordinator.logits` returns for a data set.
 */
export function evaluateLogits(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: EvaluateOptions = {},
): EvaluationResult {
  const metrics = new EvaluationMetrics(options);
  metrics.add(logits, labels);
  return metrics.result();
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
