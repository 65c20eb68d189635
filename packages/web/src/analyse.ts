import { LAYER_NAMES, type LayerName, type LeNet5, softmax } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';

/** One layer's output for one image: its shape without the batch axis and its values (NHWC order). */
export interface LayerValues {
  shape: number[];
  values: Float32Array;
}

/** What the model sees for one input: every layer's output and the 10 class probabilities. */
export interface Analysis {
  /** Softmax of the logits, one per digit 0-9. */
  probabilities: Float32Array;
  /** The most probable digit. */
  digit: number;
  /** C1, S2, C3, S4, C5, F6 and output (the logits). */
  layers: Record<LayerName, LayerValues>;
}

/**
 * Runs one 32x32 input (as made by `preprocessDrawing` or `preprocessImages`) through the model and reads every
 * layer back. Leaves `tf.memory().numTensors` unchanged.
 */
export async function analyse(model: LeNet5, input: Float32Array): Promise<Analysis> {
  if (input.length !== 32 * 32) {
    throw new RangeError(`analyse takes one 32x32 input (1024 values), got ${input.length} values.`);
  }
  const outputs = tf.tidy(() => {
    const maps = model.forwardAll(tf.tensor4d(input, [1, 32, 32, 1]));
    return { ...maps, probabilities: softmax(maps.output as tf.Tensor2D) };
  });
  try {
    const names = [...LAYER_NAMES, 'probabilities'] as const;
    const data = await Promise.all(names.map((name) => outputs[name].data() as Promise<Float32Array>));
    const layers = {} as Record<LayerName, LayerValues>;
    LAYER_NAMES.forEach((name, i) => {
      layers[name] = { shape: outputs[name].shape.slice(1), values: data[i]! };
    });
    const probabilities = data[names.length - 1]!;
    const digit = probabilities.indexOf(Math.max(...probabilities));
    return { probabilities, digit, layers };
  } finally {
    tf.dispose(Object.values(outputs));
  }
}
