import { FusedAdamUpdate, type FusedAdamUpdateAttrs, type FusedAdamUpdateInputs } from '@lenet/ops';
import { util } from '@tensorflow/tfjs-core';

/** `inputs`, after checking that the moments and the gradient are float32 of the value's shape. */
export function checkAdamInputs(inputs: FusedAdamUpdateInputs): FusedAdamUpdateInputs {
  const { value, m, v, gradient } = inputs;
  for (const t of [value, m, v, gradient]) {
    if (t.dtype !== 'float32' || !util.arraysEqual(t.shape, value.shape)) {
      throw new Error(
        `${FusedAdamUpdate}: value, m, v and gradient must be float32 of one shape [${value.shape}].`,
      );
    }
  }
  return inputs;
}

/**
 * The scalars our Adam kernels take, in their order: beta1, 1 - beta1, beta2, 1 - beta2, the two bias
 * corrections, epsilon and -learningRate (1 - beta computed as tfjs computes it before making a tensor).
 */
export function adamScalars(
  attrs: FusedAdamUpdateAttrs,
): [number, number, number, number, number, number, number, number] {
  return [
    attrs.beta1,
    1 - attrs.beta1,
    attrs.beta2,
    1 - attrs.beta2,
    attrs.oneMinusAccBeta1,
    attrs.oneMinusAccBeta2,
    attrs.epsilon,
    -attrs.learningRate,
  ];
}
