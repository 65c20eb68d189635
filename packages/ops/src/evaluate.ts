import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from './loss';
import { type LeNet5, NUM_CLASSES } from './model';

/** One batch of images `[n, 32, 32, 1]` float32 and their int32 class ids `[n]`. */
export interface LabelledBatch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
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
}

/**
 * Runs the model over every batch and returns loss, accuracy and the confusion matrix.
 * The batches stay owned by the caller (they are not disposed); no tensor of this function survives it.
 * @throws RangeError when there are no batches, or a label is not an integer in [0, 10).
 */
export async function evaluate(
  model: LeNet5,
  batches: Iterable<LabelledBatch> | AsyncIterable<LabelledBatch>,
): Promise<EvaluationResult> {
  const confusion = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  let lossSum = 0;
  let count = 0;
  let correct = 0;

  for await (const { x, y } of batches) {
    const [meanLoss, predicted] = tf.tidy(() => {
      const logits = model.forward(x);
      return [crossEntropy(logits, y), tf.argMax(logits, 1)] as const;
    });
    try {
      const [lossData, predictedData, labelData] = await Promise.all([
        meanLoss.data(),
        predicted.data(),
        y.data(),
      ]);
      for (let i = 0; i < labelData.length; i++) {
        const label = labelData[i]!;
        if (!(Number.isInteger(label) && label >= 0 && label < NUM_CLASSES)) {
          throw new RangeError(
            `evaluate: label ${label} at row ${i} of batch starting at example ${count} is not a class id 0-${NUM_CLASSES - 1}.`,
          );
        }
        const guess = predictedData[i]!;
        confusion[label]![guess]! += 1;
        if (guess === label) correct += 1;
      }
      // crossEntropy is a batch mean; weight it by the batch size so uneven last batches count right.
      lossSum += lossData[0]! * labelData.length;
      count += labelData.length;
    } finally {
      meanLoss.dispose();
      predicted.dispose();
    }
  }

  if (count === 0) throw new RangeError('evaluate: got no examples. Pass at least one non-empty batch.');
  return { loss: lossSum / count, accuracy: correct / count, count, correct, confusion };
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
