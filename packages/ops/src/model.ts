import * as tf from '@tensorflow/tfjs-core';
import { LeNet5Gradients, LeNet5Logits } from './kernel-names';
import { assertLabels, crossEntropy, softmax } from './loss';

/** Nonlinearity applied after C1, C3, C5 and F6. The reference uses tanh. */
export type Activation = 'tanh' | 'relu' | 'sigmoid';

/** Subsampling used by S2 and S4 (2x2 window, stride 2). The reference uses average pooling. */
export type Pooling = 'avg' | 'max';

/** Options for {@link LeNet5.create}. Every field is optional; the defaults give the reference model. */
export interface LeNet5Options {
  /** Default `'tanh'`. */
  activation?: Activation;
  /** Default `'avg'`. */
  pooling?: Pooling;
  /** Seed for the initial weights, an integer. Default {@link DEFAULT_SEED}: the same seed gives the same weights. */
  seed?: number;
}

/** The activations the model accepts, for validating user input. */
export const ACTIVATIONS: readonly Activation[] = ['tanh', 'relu', 'sigmoid'];

/** The poolings the model accepts, for validating user input. */
export const POOLINGS: readonly Pooling[] = ['avg', 'max'];

/** Seed used when {@link LeNet5Options.seed} is not given, so that two default models start identical. */
export const DEFAULT_SEED = 0;

/** Side length of the square input image. MNIST's 28x28 digits are padded or resized to this. */
export const INPUT_SIZE = 32;

/** Number of output classes (digits 0-9). */
export const NUM_CLASSES = 10;

/** The layers of LeNet-5 in order, named as in the 1998 paper; `output` is the final dense layer (logits). */
export const LAYER_NAMES = ['C1', 'S2', 'C3', 'S4', 'C5', 'F6', 'output'] as const;

/** One of {@link LAYER_NAMES}. */
export type LayerName = (typeof LAYER_NAMES)[number];

/** The trainable parameters, `<layer>/kernel` and `<layer>/bias`. Pooling layers have none. */
export type ParamName =
  | 'C1/kernel'
  | 'C1/bias'
  | 'C3/kernel'
  | 'C3/bias'
  | 'C5/kernel'
  | 'C5/bias'
  | 'F6/kernel'
  | 'F6/bias'
  | 'output/kernel'
  | 'output/bias';

/**
 * Shape of every parameter. Convolution kernels are HWIO `[5, 5, in, out]` (tfjs' conv2d layout),
 * dense kernels are `[in, out]`, biases are `[out]`.
 */
export const PARAM_SHAPES: Readonly<Record<ParamName, readonly number[]>> = {
  'C1/kernel': [5, 5, 1, 6],
  'C1/bias': [6],
  'C3/kernel': [5, 5, 6, 16],
  'C3/bias': [16],
  'C5/kernel': [5, 5, 16, 120],
  'C5/bias': [120],
  'F6/kernel': [120, 84],
  'F6/bias': [84],
  'output/kernel': [84, 10],
  'output/bias': [10],
};

/** Every {@link ParamName}, in layer order (the order used for seeding and for saved weights). */
export const PARAM_NAMES = Object.keys(PARAM_SHAPES) as ParamName[];

/** Every layer's output. Convolution and pooling maps are NHWC; `F6` is `[n, 84]`; `output` is the logits `[n, 10]`. */
export type FeatureMaps = Record<LayerName, tf.Tensor>;

/** A value for one parameter in {@link LeNet5.setWeights}: a tensor, or the flat float32 data in row-major order. */
export type WeightValue = tf.Tensor | Float32Array | readonly number[];

/** Thrown by {@link LeNet5.setWeights} when names or shapes do not match {@link PARAM_SHAPES}; lists every problem. */
export class WeightsMismatchError extends Error {
  /** One line per problem found. */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(
      `These weights do not fit LeNet-5 (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nExpected exactly these parameters: ${PARAM_NAMES.map((n) => `${n} [${PARAM_SHAPES[n].join(',')}]`).join(', ')}. ` +
        'Nothing was changed.',
    );
    this.name = 'WeightsMismatchError';
    this.problems = problems;
  }
}

/** Thrown when the model is given an input that is not a float32 `[n, 32, 32, 1]` batch. */
export class InputShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputShapeError';
  }
}

/** Number of input values one output unit sees, used for PyTorch's default init bound 1/sqrt(fanIn). */
function fanIn(name: ParamName): number {
  const layer = name.split('/')[0] as LayerName;
  const kernel = PARAM_SHAPES[`${layer}/kernel` as ParamName];
  // Conv HWIO [kh, kw, in, out] -> kh*kw*in; dense [in, out] -> in. Both are "all dims but the last".
  return kernel.slice(0, -1).reduce((a, b) => a * b, 1);
}

/** Product of a shape's dimensions. */
function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

let modelCounter = 0;

/**
 * LeNet-5 built from tfjs-core ops (no tfjs-layers), NHWC:
 * input [n,32,32,1] -> C1 conv 5x5 1->6 + act [n,28,28,6] -> S2 pool [n,14,14,6] -> C3 conv 5x5 6->16 + act [n,10,10,16]
 * -> S4 pool [n,5,5,16] -> C5 conv 5x5 16->120 + act [n,1,1,120] -> F6 dense 120->84 + act [n,84] -> output dense 84->10 (logits).
 * 61,706 parameters.
 *
 * Every method that returns tensors hands ownership to the caller: dispose them (or call inside `tf.tidy`).
 */
export class LeNet5 {
  /** Nonlinearity after C1, C3, C5 and F6. */
  readonly activation: Activation;
  /** Subsampling of S2 and S4. */
  readonly pooling: Pooling;
  /** The trainable variables, by name. Assign through {@link LeNet5.setWeights} to get validation. */
  readonly params: Readonly<Record<ParamName, tf.Variable>>;
  private disposed = false;

  private constructor(activation: Activation, pooling: Pooling, params: Record<ParamName, tf.Variable>) {
    this.activation = activation;
    this.pooling = pooling;
    this.params = Object.freeze(params);
  }

  /**
   * Builds a model with PyTorch's default initialisation for Conv2d and Linear: every weight and bias
   * uniform in [-1/sqrt(fanIn), 1/sqrt(fanIn)], fanIn = in*kh*kw for a conv, in for a dense layer.
   * Deterministic: the same `seed` gives bit-identical weights on every backend (tfjs draws them in JS).
   */
  static create(options: LeNet5Options = {}): LeNet5 {
    const activation = options.activation ?? 'tanh';
    const pooling = options.pooling ?? 'avg';
    const seed = options.seed ?? DEFAULT_SEED;
    if (!ACTIVATIONS.includes(activation)) {
      throw new RangeError(`Unknown activation '${activation}'. Use one of: ${ACTIVATIONS.join(', ')}.`);
    }
    if (!POOLINGS.includes(pooling)) {
      throw new RangeError(`Unknown pooling '${pooling}'. Use one of: ${POOLINGS.join(', ')}.`);
    }
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`The seed must be an integer (got ${seed}). Pass e.g. { seed: 42 }.`);
    }

    const prefix = `lenet5_${modelCounter++}`;
    const params = {} as Record<ParamName, tf.Variable>;
    PARAM_NAMES.forEach((name, index) => {
      const bound = 1 / Math.sqrt(fanIn(name));
      // One seed per parameter, so that adding a draw to one parameter never shifts the others.
      const paramSeed = seed * PARAM_NAMES.length + index;
      const initial = tf.randomUniform([...PARAM_SHAPES[name]], -bound, bound, 'float32', paramSeed);
      // Variable names are global in tfjs, so each model gets its own prefix.
      params[name] = tf.variable(initial, true, `${prefix}/${name}`);
      initial.dispose();
    });
    return new LeNet5(activation, pooling, params);
  }

  /** Logits `[n, 10]` for a float32 batch `[n, 32, 32, 1]`. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    this.assertUsable();
    this.assertInput(x);
    return tf.tidy(() => this.logits(x));
  }

  /** Every layer's output for a float32 batch `[n, 32, 32, 1]` (see {@link FeatureMaps}); `output` holds the logits. */
  forwardAll(x: tf.Tensor4D): FeatureMaps {
    this.assertUsable();
    this.assertInput(x);
    return tf.tidy(() => this.run(x, true)) as FeatureMaps;
  }

  /** Class probabilities `[n, 10]` (softmax of the logits) for a float32 batch `[n, 32, 32, 1]`. */
  predict(x: tf.Tensor4D): tf.Tensor2D {
    this.assertUsable();
    this.assertInput(x);
    return tf.tidy(() => softmax(this.logits(x)));
  }

  /**
   * The mean cross-entropy of the batch `x` against the int32 class ids `y`, and its gradient for
   * every variable, keyed by variable name: what `tf.variableGrads` gives for
   * `crossEntropy(model.forward(x), y)`. Where the backend registers
   * {@link LeNet5Gradients} (as `@lenet/kernels` does on wasm) and this is the reference model
   * (tanh, average pooling), it runs in that one fused kernel instead of a tape of more than a hundred kernels;
   * the results agree up to float rounding. Not differentiable itself.
   */
  lossAndGradients(x: tf.Tensor4D, y: tf.Tensor1D): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    this.assertUsable();
    this.assertInput(x);
    const fused = this.isReference() && tf.getKernel(LeNet5Gradients, tf.getBackend()) != null;
    if (!fused) return tf.variableGrads(() => crossEntropy(this.forward(x), y), this.variables());
    assertLabels(y, x.shape[0], NUM_CLASSES);
    const inputs: tf.NamedTensorMap = { x, labels: y, ...this.params };
    const [value, ...grads] = tf.engine().runKernel(LeNet5Gradients, inputs, {}) as tf.Tensor[];
    return {
      value: value as tf.Scalar,
      grads: Object.fromEntries(PARAM_NAMES.map((name, i) => [this.params[name].name, grads[i]!])),
    };
  }

  /** The trainable variables in {@link PARAM_NAMES} order, e.g. for `optimizer.minimize(f, true, model.variables())`. */
  variables(): tf.Variable[] {
    this.assertUsable();
    return PARAM_NAMES.map((name) => this.params[name]);
  }

  /** A copy of every parameter; later training does not change the copies. The caller owns (and disposes) them. */
  getWeights(): Record<ParamName, tf.Tensor> {
    this.assertUsable();
    const weights = {} as Record<ParamName, tf.Tensor>;
    for (const name of PARAM_NAMES) weights[name] = tf.clone(this.params[name]);
    return weights;
  }

  /**
   * Replaces every parameter. Checks all names, shapes and dtypes first and throws one
   * {@link WeightsMismatchError} listing every problem, in which case nothing is changed.
   * Tensors passed in stay owned by the caller.
   */
  setWeights(weights: Readonly<Record<string, WeightValue>>): void {
    this.assertUsable();
    const problems: string[] = [];
    for (const name of PARAM_NAMES) {
      if (!(name in weights)) problems.push(`missing '${name}' (shape [${PARAM_SHAPES[name].join(',')}])`);
    }
    for (const name of Object.keys(weights)) {
      if (!(name in PARAM_SHAPES)) problems.push(`unexpected '${name}' (LeNet-5 has no such parameter)`);
    }
    for (const name of PARAM_NAMES) {
      if (!(name in weights)) continue;
      const problem = describeMismatch(weights[name]!, PARAM_SHAPES[name]);
      if (problem) problems.push(`'${name}': ${problem}`);
    }
    if (problems.length > 0) throw new WeightsMismatchError(problems);

    for (const name of PARAM_NAMES) {
      const value = weights[name]!;
      if (value instanceof tf.Tensor) {
        this.params[name].assign(value);
      } else {
        tf.tidy(() =>
          this.params[name].assign(tf.tensor(value as Float32Array, [...PARAM_SHAPES[name]], 'float32')),
        );
      }
    }
  }

  /** Number of trainable scalars: 61,706 for LeNet-5. */
  parameterCount(): number {
    return PARAM_NAMES.reduce((total, name) => total + sizeOf(PARAM_SHAPES[name]), 0);
  }

  /** Frees the variables. The model cannot be used afterwards. Calling it twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const name of PARAM_NAMES) this.params[name].dispose();
  }

  /**
   * The logits: in one {@link LeNet5Logits} call where the backend has it, this is the
   * reference model and no gradient tape records (the kernel has no gradient); else layer by layer.
   */
  private logits(x: tf.Tensor4D): tf.Tensor2D {
    if (this.isReference() && !tf.engine().isTapeOn() && tf.getKernel(LeNet5Logits, tf.getBackend())) {
      return tf.engine().runKernel(LeNet5Logits, { x, ...this.params }) as tf.Tensor2D;
    }
    return this.run(x, false).output as tf.Tensor2D;
  }

  /** Tanh and average pooling, the model the fused kernels compute. */
  private isReference(): boolean {
    return this.activation === 'tanh' && this.pooling === 'avg';
  }

  /** The forward pass; keeps every intermediate map when `keepAll` (the caller's tf.tidy frees the rest). */
  private run(x: tf.Tensor4D, keepAll: boolean): Partial<FeatureMaps> {
    const p = this.params;
    const act = (t: tf.Tensor): tf.Tensor =>
      this.activation === 'tanh' ? tf.tanh(t) : this.activation === 'relu' ? tf.relu(t) : tf.sigmoid(t);
    const conv = (input: tf.Tensor4D, layer: 'C1' | 'C3' | 'C5'): tf.Tensor4D =>
      act(
        tf.add(tf.conv2d(input, p[`${layer}/kernel`] as tf.Tensor4D, 1, 'valid'), p[`${layer}/bias`]),
      ) as tf.Tensor4D;
    const pool = (input: tf.Tensor4D): tf.Tensor4D =>
      this.pooling === 'avg' ? tf.avgPool(input, 2, 2, 'valid') : tf.maxPool(input, 2, 2, 'valid');
    const dense = (input: tf.Tensor2D, layer: 'F6' | 'output'): tf.Tensor2D =>
      tf.add(tf.matMul(input, p[`${layer}/kernel`] as tf.Tensor2D), p[`${layer}/bias`]);

    const c1 = conv(x, 'C1');
    const s2 = pool(c1);
    const c3 = conv(s2, 'C3');
    const s4 = pool(c3);
    const c5 = conv(s4, 'C5');
    const f6 = act(dense(tf.reshape(c5, [-1, 120]), 'F6')) as tf.Tensor2D;
    const output = dense(f6, 'output');
    return keepAll ? { C1: c1, S2: s2, C3: c3, S4: s4, C5: c5, F6: f6, output } : { output };
  }

  private assertInput(x: tf.Tensor): void {
    const expected = `a float32 tensor of shape [n, ${INPUT_SIZE}, ${INPUT_SIZE}, 1] (NHWC, n >= 1)`;
    const [n, h, w, c] = x.shape;
    if (x.rank !== 4 || n! < 1 || h !== INPUT_SIZE || w !== INPUT_SIZE || c !== 1) {
      const hint =
        x.rank === 3 || (x.rank === 4 && h === 28)
          ? ' Add a batch or channel axis with tf.reshape, and pad or resize 28x28 MNIST digits to 32x32.'
          : '';
      throw new InputShapeError(`LeNet-5 expects ${expected}; got shape [${x.shape.join(', ')}].${hint}`);
    }
    if (x.dtype !== 'float32') {
      throw new InputShapeError(
        `LeNet-5 expects ${expected}; got dtype ${x.dtype}. Convert with tf.cast(x, 'float32') and scale pixels to [0, 1].`,
      );
    }
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('This LeNet5 model was disposed; create or load a new one.');
  }
}

/** Why `value` cannot be a parameter of `shape`, or undefined when it can. */
function describeMismatch(value: WeightValue, shape: readonly number[]): string | undefined {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) return 'the tensor was disposed';
    const sameShape = value.shape.length === shape.length && value.shape.every((d, i) => d === shape[i]);
    if (!sameShape) return `shape [${value.shape.join(',')}] but expected [${shape.join(',')}]`;
    if (value.dtype !== 'float32') return `dtype ${value.dtype} but expected float32`;
    return undefined;
  }
  if (value instanceof Float32Array || Array.isArray(value)) {
    const expected = sizeOf(shape);
    if (value.length !== expected) {
      return `${value.length} values but shape [${shape.join(',')}] needs ${expected}`;
    }
    return undefined;
  }
  return 'not a tf.Tensor, Float32Array or number[]';
}
