import {
  FusedAdamUpdate,
  type FusedAdamUpdateAttrs,
  FusedAdamUpdateInPlace,
  type FusedAdamUpdateInPlaceAttrs,
  type FusedAdamUpdateInPlaceInputs,
  type FusedAdamUpdateInputs,
} from '@lenet/ops';
import { type TensorInfo, util } from '@tensorflow/tfjs-core';

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

/** One variable of a {@link FusedAdamUpdateInPlace} call and where its gradient starts in `gradients`, in floats. */
export interface InPlaceAdamVariable {
  value: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
  gradientOffset: number;
  size: number;
}

/**
 * The variables of a {@link FusedAdamUpdateInPlace} call, after checking that every value, m and v
 * is float32 of its value's shape and that `gradients` holds exactly their sizes, back to back.
 */
export function inPlaceAdamVariables(
  inputs: FusedAdamUpdateInPlaceInputs,
  attrs: FusedAdamUpdateInPlaceAttrs,
): InPlaceAdamVariable[] {
  const variables: InPlaceAdamVariable[] = [];
  let offset = 0;
  for (let i = 0; i < attrs.variables; i++) {
    const value = inputs[`value${i}`];
    const m = inputs[`m${i}`];
    const v = inputs[`v${i}`];
    if (value == null || m == null || v == null) {
      throw new Error(
        `${FusedAdamUpdateInPlace}: variable ${i} of ${attrs.variables} needs value${i}, m${i} and v${i}.`,
      );
    }
    checkAdamInputs({ value, m, v, gradient: value }); // the gradients are checked as a whole below
    const size = util.sizeFromShape(value.shape);
    variables.push({ value, m, v, gradientOffset: offset, size });
    offset += size;
  }
  const { gradients } = inputs;
  if (gradients.dtype !== 'float32' || util.sizeFromShape(gradients.shape) !== offset) {
    throw new Error(
      `${FusedAdamUpdateInPlace}: gradients must be float32 with ${offset} values, one per variable value.`,
    );
  }
  return variables;
}
