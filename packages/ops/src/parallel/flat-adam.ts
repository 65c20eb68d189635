import * as tf from '@tensorflow/tfjs-core';
import type { LeNet5 } from '../model';
import { FLAT_PARAMETER_COUNT } from './flat-gradients';
import { adamPowers } from './optimizer-state';

const f32 = Math.fround;

/**
 * Adam on flat Float32Arrays (PARAM_NAMES order), computing exactly what tfjs's `AdamOptimizer`
 * computes in float32, operation by operation, so a replica that uses it stays bit-identical to one
 * that uses tfjs. One pass over 61,706 floats replaces about a hundred small tensor kernels per
 * step, which on the wasm backend cost as much as a third of a small batch's gradient computation.
 * State moves to and from a tfjs Adam ({@link FlatAdam.fromOptimizer}, {@link FlatAdam.writeTo}),
 * so checkpoints keep tfjs's format.
 */
export class FlatAdam {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** First and second moments, flat like the weights. */
  readonly m = new Float32Array(FLAT_PARAMETER_COUNT);
  readonly v = new Float32Array(FLAT_PARAMETER_COUNT);
  /** Steps applied so far. */
  iterations = 0;
  // beta^(iterations + 1), kept in float32 as tfjs keeps them in variables.
  private accBeta1: number;
  private accBeta2: number;
  /** The moments' names in a tfjs Adam this state came from (tfjs keeps them across save and restore). */
  private slotNames: string[] | undefined;

  constructor(learningRate: number, beta1: number, beta2: number, epsilon: number) {
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.accBeta1 = f32(beta1);
    this.accBeta2 = f32(beta2);
  }

  /** A FlatAdam with a tfjs Adam's settings and state (moments and step count), for `model`'s variables. */
  static async fromOptimizer(optimizer: tf.Optimizer, model: LeNet5): Promise<FlatAdam> {
    const config = optimizer.getConfig() as {
      learningRate: number;
      beta1: number;
      beta2: number;
      epsilon: number;
    };
    const adam = new FlatAdam(config.learningRate, config.beta1, config.beta2, config.epsilon);
    const named = await optimizer.getWeights();
    try {
      adam.iterations = optimizer.iterations;
      // beta^t exactly as the optimizer holds it (decodeOptimizerState restores it bit for bit).
      const [accBeta1, accBeta2] = adamPowers(optimizer);
      adam.accBeta1 = (await accBeta1.data())[0]!;
      adam.accBeta2 = (await accBeta2.data())[0]!;
      // [step count, every first moment, every second moment], in the order the variables were
      // first updated; a restored optimizer keeps the names it was saved with, so go by position.
      const slots = named.slice(1);
      const variables = model.variables();
      if (slots.length !== 0 && slots.length !== 2 * variables.length) {
        throw new RangeError(
          `This Adam holds ${slots.length} moment tensors; LeNet-5 needs ${2 * variables.length} (or none yet).`,
        );
      }
      if (slots.length > 0) adam.slotNames = slots.map((slot) => slot.name);
      let offset = 0;
      for (let i = 0; i < slots.length / 2; i++) {
        const size = variables[i]!.size;
        const m = slots[i]!.tensor;
        const v = slots[variables.length + i]!.tensor;
        if (m.size !== size || v.size !== size) {
          throw new RangeError(
            `Adam's moments for '${slots[i]!.name}' hold ${m.size} values; expected ${size}.`,
          );
        }
        adam.m.set((await m.data()) as Float32Array, offset);
        adam.v.set((await v.data()) as Float32Array, offset);
        offset += size;
      }
    } finally {
      for (const w of named) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
    }
    return adam;
  }

  /**
   * Copies this state into a tfjs Adam for `model`'s variables (to save it in tfjs's format). Give it
   * a fresh Adam: tfjs's `setWeights` replaces an Adam's moment variables without freeing the old.
   */
  async writeTo(optimizer: tf.Optimizer, model: LeNet5): Promise<void> {
    const variables = model.variables();
    const names = this.slotNames ?? [
      ...variables.map((variable) => `${variable.name}/m`),
      ...variables.map((variable) => `${variable.name}/v`),
    ];
    const slots: { name: string; tensor: tf.Tensor }[] = [
      { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
    ];
    for (const [k, moments] of [this.m, this.v].entries()) {
      let offset = 0;
      variables.forEach((variable, i) => {
        const values = moments.slice(offset, offset + variable.size);
        slots.push({ name: names[k * variables.length + i]!, tensor: tf.tensor(values, variable.shape) });
        offset += variable.size;
      });
    }
    try {
      await optimizer.setWeights(slots);
      // setWeights recomputes beta^t with pow(), a few bits off the float32 product this state holds.
      const [accBeta1, accBeta2] = adamPowers(optimizer);
      tf.tidy(() => {
        accBeta1.assign(tf.scalar(this.accBeta1));
        accBeta2.assign(tf.scalar(this.accBeta2));
      });
    } finally {
      tf.dispose(slots.map((s) => s.tensor));
    }
  }

  /** One Adam step: updates `weights` in place with `gradients` (both flat, PARAM_NAMES order). */
  step(weights: Float32Array, gradients: Float32Array): void {
    if (weights.length !== FLAT_PARAMETER_COUNT || gradients.length !== FLAT_PARAMETER_COUNT) {
      throw new RangeError(
        `FlatAdam.step needs ${FLAT_PARAMETER_COUNT} weights and gradients; got ${weights.length} and ${gradients.length}.`,
      );
    }
    // The scalars tfjs makes float32 tensors of, in the same order of operations.
    const beta1 = f32(this.beta1);
    const beta2 = f32(this.beta2);
    const oneMinusBeta1 = f32(1 - this.beta1);
    const oneMinusBeta2 = f32(1 - this.beta2);
    const oneMinusAccBeta1 = f32(1 - this.accBeta1);
    const oneMinusAccBeta2 = f32(1 - this.accBeta2);
    const epsilon = f32(this.epsilon);
    const minusRate = f32(-this.learningRate);
    const { m, v } = this;
    for (let i = 0; i < FLAT_PARAMETER_COUNT; i++) {
      const g = gradients[i]!;
      const newM = f32(f32(m[i]! * beta1) + f32(g * oneMinusBeta1));
      const newV = f32(f32(v[i]! * beta2) + f32(f32(g * g) * oneMinusBeta2));
      const correctedM = f32(newM / oneMinusAccBeta1);
      const correctedV = f32(newV / oneMinusAccBeta2);
      m[i] = newM;
      v[i] = newV;
      weights[i] = f32(
        f32(f32(correctedM / f32(f32(Math.sqrt(correctedV)) + epsilon)) * minusRate) + weights[i]!,
      );
    }
    this.accBeta1 = f32(this.accBeta1 * beta1);
    this.accBeta2 = f32(this.accBeta2 * beta2);
    this.iterations++;
  }
}
