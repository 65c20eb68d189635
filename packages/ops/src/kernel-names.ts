// The fused kernels @lenet/ops runs where the active backend registers them, and their contract:
// each kernel's name, its typed inputs and attributes, and what it returns. A backend that
// implements one (as @lenet/kernels does for wasm and cpu) imports these types, so a change here
// breaks its build instead of its results. Where a backend lacks a kernel, @lenet/ops takes the
// plain tfjs-ops path, which these kernels must agree with up to float rounding.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { ParamName } from './model';

/** Every parameter of the reference LeNet-5 by its {@link ParamName}, as kernel inputs. */
export type LeNet5ParamInputs = Record<ParamName, TensorInfo>;

/**
 * The reference LeNet-5's (tanh, average pooling) mean cross-entropy and its gradients for a batch
 * in one call ({@link LeNet5.lossAndGradients}).
 * Outputs: the mean loss (a float32 scalar), then one gradient per parameter in PARAM_NAMES order.
 * Labels outside 0-9 count as no class, as in `crossEntropy`.
 */
export const LeNet5Gradients = 'LeNet5Gradients';
/** `x` [n, 32, 32, 1] float32, `labels` [n] int32, and every parameter. */
export type LeNet5GradientsInputs = { x: TensorInfo; labels: TensorInfo } & LeNet5ParamInputs;
/** No attributes: the model's shapes are fixed (PARAM_SHAPES). */
export type LeNet5GradientsAttrs = Record<string, never>;

/**
 * The reference LeNet-5's logits in one call ({@link LeNet5.forward} and {@link LeNet5.predict} use it
 * outside a gradient tape; it has no gradient). Output: the logits [n, 10] float32.
 */
export const LeNet5Logits = 'LeNet5Logits';
/** `x` [n, 32, 32, 1] float32 and every parameter. */
export type LeNet5LogitsInputs = { x: TensorInfo } & LeNet5ParamInputs;
export type LeNet5LogitsAttrs = Record<string, never>;

/**
 * One Adam update of one variable ({@link FusedAdamOptimizer}).
 * Outputs: the new value, m and v, computed with the same float32 operations in the same order as
 * tfjs's AdamOptimizer, so that the fused and the stock optimizer stay bit-identical.
 */
export const FusedAdamUpdate = 'FusedAdamUpdate';
/** float32, all of one shape. */
export interface FusedAdamUpdateInputs {
  value: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
  gradient: TensorInfo;
}
/** The optimizer's settings and this step's bias corrections. */
export interface FusedAdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t in float32, t the 1-based step. */
  oneMinusAccBeta1: number;
  /** 1 - beta2^t in float32. */
  oneMinusAccBeta2: number;
}

/** The names of every fused kernel, for backends and tests that list them. */
export const FUSED_KERNEL_NAMES = [LeNet5Gradients, LeNet5Logits, FusedAdamUpdate] as const;
