import * as tf from '@tensorflow/tfjs-core';
import {
  FusedAdamUpdate,
  type FusedAdamUpdateAttrs,
  FusedAdamUpdateInPlace,
  type FusedAdamUpdateInPlaceAttrs,
} from './kernel-names';

/** The parts of tfjs's AdamOptimizer that are private there and that this subclass updates. */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/**
 * tfjs's AdamOptimizer (same results, same state, same saved format), which updates each variable
 * in one {@link FusedAdamUpdate} call where the backend registers that kernel (`@lenet/kernels`
 * does on wasm and cpu), instead of about a dozen small kernels per variable: on the wasm backend that is
 * about 1.1 ms a LeNet-5 step saved. On other backends it is tfjs's Adam unchanged.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (tf.getKernel(FusedAdamUpdate, tf.getBackend()) == null) {
      super.applyGradients(variableGradients);
      return;
    }
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    tf.tidy(() => {
      const attrs = this.stepAttrs();
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        const { m, v } = this.slots(i, value);
        const gradient = Array.isArray(variableGradients)
          ? variableGradients[i]!.tensor
          : (variableGradients as tf.NamedTensorMap)[name];
        if (gradient == null) return;
        const inputs: tf.NamedTensorMap = { value, m, v, gradient };
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(FusedAdamUpdate, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
      });
      this.advanceAccumulatedBetas();
    });
    this.incrementIterations();
  }

  /**
   * Applies `gradients`, every variable's gradient back to back in the order of `variables` (a
   * model's flat gradient), in one {@link FusedAdamUpdateInPlace} call that updates the variables and
   * their moments where they are: the same bits as {@link applyGradients}, without a kernel call, a
   * gradient tensor and three new buffers per variable (most of an update's time at LeNet's sizes).
   * Returns false, having applied nothing, where the backend lacks that kernel or a variable's or
   * moment's data is shared with another tensor (a clone or reshape of it); then call applyGradients.
   */
  applyFlatGradients(variables: readonly tf.Variable[], gradients: Float32Array): boolean {
    const backend = tf.getBackend();
    if (tf.getKernel(FusedAdamUpdateInPlace, backend) == null) return false;
    const size = variables.reduce((sum, variable) => sum + variable.size, 0);
    if (gradients.length !== size) {
      throw new RangeError(
        `applyFlatGradients: ${size} gradient values for these variables; got ${gradients.length}.`,
      );
    }
    const slots = variables.map((value, i) => this.slots(i, value));
    const owned = (t: tf.Tensor) => tf.engine().backend.refCount(t.dataId) === 1;
    if (!variables.every(owned) || !slots.every(({ m, v }) => owned(m) && owned(v))) return false;
    tf.tidy(() => {
      const inputs: tf.NamedTensorMap = { gradients: tf.tensor1d(gradients) };
      variables.forEach((value, i) => {
        inputs[`value${i}`] = value;
        inputs[`m${i}`] = slots[i]!.m;
        inputs[`v${i}`] = slots[i]!.v;
      });
      const attrs: FusedAdamUpdateInPlaceAttrs = { ...this.stepAttrs(), variables: variables.length };
      tf.engine().runKernel(FusedAdamUpdateInPlace, inputs, attrs as unknown as tf.NamedAttrMap);
      this.advanceAccumulatedBetas();
    });
    this.incrementIterations();
    return true;
  }

  /** This step's settings and bias corrections, as the fused kernels take them. */
  private stepAttrs(): FusedAdamUpdateAttrs {
    const state = this as unknown as AdamInternals;
    // tfjs computes 1 - beta^t as float32 tensors; reading the two scalars is cheap on the CPU
    // backends that register the kernel.
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      oneMinusAccBeta1: Math.fround(1 - state.accBeta1.dataSync()[0]!),
      oneMinusAccBeta2: Math.fround(1 - state.accBeta2.dataSync()[0]!),
    };
  }

  /** The moments of variable `i` (by position, as tfjs keeps them), made as tfjs makes them on first use. */
  private slots(i: number, value: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    const state = this as unknown as AdamInternals;
    // Slots as tfjs creates them: by position, named after the variable, not trainable.
    state.accumulatedFirstMoment[i] ??= {
      originalName: `${value.name}/m`,
      variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
    };
    state.accumulatedSecondMoment[i] ??= {
      originalName: `${value.name}/v`,
      variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
    };
    return { m: state.accumulatedFirstMoment[i]!.variable, v: state.accumulatedSecondMoment[i]!.variable };
  }

  private advanceAccumulatedBetas(): void {
    const state = this as unknown as AdamInternals;
    state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
    state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
  }
}
