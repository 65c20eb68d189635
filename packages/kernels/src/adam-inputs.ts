import { FusedAdamUpdate, type FusedAdamUpdateInputs } from '@lenet/ops';
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
