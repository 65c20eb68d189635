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

/**
 * One Adam update of many variables at once, in place ({@link FusedAdamOptimizer.applyFlatGradients}):
 * for each variable i < `attrs.variables`, its value `value{i}` and moments `m{i}` and `v{i}` are
 * overwritten with what {@link FusedAdamUpdate} would return, the same bits. `gradients` holds every
 * variable's gradient back to back, in that order. Outputs: none. The caller passes only tensors whose
 * data no other tensor shares (a variable's own buffer), since the kernel writes where they are.
 */
export const FusedAdamUpdateInPlace = 'FusedAdamUpdateInPlace';
/** float32: `gradients` [Σ sizes], and for each variable i, `value{i}`, `m{i}` and `v{i}` of one shape. */
export type FusedAdamUpdateInPlaceInputs = { gradients: TensorInfo } & {
  [slot: `value${number}` | `m${number}` | `v${number}`]: TensorInfo;
};
/** {@link FusedAdamUpdateAttrs}, and how many variables the inputs hold. */
export interface FusedAdamUpdateInPlaceAttrs extends FusedAdamUpdateAttrs {
  variables: number;
}

/**
 * Gathers a batch of images from a split held on the device and distorts each one (rotation and zoom
 * about the centre, then a shift, sampled bilinearly) in one call ({@link augmentBatch}): the GPU side
 * of `@lenet/data`'s `applyAugmentation`. Output: [n, 32, 32, 1] float32, image i being
 * `images[indices[i]]` under transform i.
 */
export const AugmentBatch = 'AugmentBatch';
export interface AugmentBatchInputs {
  /** [N, 32, 32, 1] float32: a prepared split, uploaded once. */
  images: TensorInfo;
  /** [n] int32, each in [0, N). */
  indices: TensorInfo;
  /**
   * [n, 8] float32: each image's inverse map as `@lenet/data`'s `writeAugmentTransform` writes it,
   * [aH, bH, txH, tyH, aL, bL, txL, tyL]. With c = 15.5, u = x - c and v = y - c, output pixel (x, y)
   * comes from hx + lx along x and hy + ly along y, in float32 in this order:
   *   hx = aH·u + (bH·v + (txH + c)),   lx = aL·u + (bL·v + txL),
   *   hy = -bH·u + (aH·v + (tyH + c)),  ly = -bL·u + (aL·v + tyL),
   * where the h sums are exact. It is sampled bilinearly at x0 = floor(hx + lx), fx = (hx - x0) + lx
   * (likewise y0, fy): top = p00 + (p01 - p00)·fx, bottom = p10 + (p11 - p10)·fx,
   * value = top + (bottom - top)·fy, p01 being pixel (x0 + 1, y0); a neighbour outside the image is
   * `background`. So float32 lands within 1e-6 of a pixel of the float64 map.
   */
  transforms: TensorInfo;
}
export interface AugmentBatchAttrs {
  /** The value of every neighbour outside the image (the input value of a black pixel). */
  background: number;
}

/**
 * The names of every fused kernel of the LeNet-5 step, for backends and tests that list them
 * (AugmentBatch, a data kernel, is not one).
 */
export const FUSED_KERNEL_NAMES = [
  LeNet5Gradients,
  LeNet5Logits,
  FusedAdamUpdate,
  FusedAdamUpdateInPlace,
] as const;
