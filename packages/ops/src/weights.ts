import * as tf from '@tensorflow/tfjs-core';
import {
  ACTIVATIONS,
  type Activation,
  LeNet5,
  PARAM_NAMES,
  PARAM_SHAPES,
  POOLINGS,
  type Pooling,
} from './model';
import { checkWeightSpecs } from './weights-manifest';

/** Value of `userDefinedMetadata.format` (and of the artifacts' `format`) that marks LeNet-5 weights. */
export const WEIGHTS_FORMAT = 'lenet5';

/** Thrown by {@link loadWeights} when the saved artifacts are not LeNet-5 weights; lists every problem found. */
export class WeightsFormatError extends Error {
  /** One line per problem found. */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(
      `Cannot load LeNet-5 weights (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nLoad weights written by saveWeights() of @lenet/ops, or re-save them with it.',
    );
    this.name = 'WeightsFormatError';
    this.problems = problems;
  }
}

/**
 * Saves the model's parameters in the TF.js weights format through any tfjs IO handler
 * (tf.io.withSaveHandler, tf.io.http, a file handler, ...). Weight specs are named by {@link ParamName}, float32.
 * `userDefinedMetadata` holds `{ ...metadata, format: 'lenet5', activation, pooling }`; those three keys always
 * describe the model, whatever `metadata` says. Metadata must be JSON-serialisable.
 */
export async function saveWeights(
  model: LeNet5,
  handler: tf.io.IOHandler,
  metadata: Record<string, unknown> = {},
): Promise<tf.io.SaveResult> {
  if (typeof handler.save !== 'function') {
    throw new TypeError(
      'saveWeights: this IO handler cannot save (it has no save method). Pass a save handler.',
    );
  }
  const weights = model.getWeights();
  try {
    const ordered = PARAM_NAMES.map((name) => ({ name, tensor: weights[name] }));
    const { data, specs } = await tf.io.encodeWeights(ordered);
    return await handler.save({
      format: WEIGHTS_FORMAT,
      generatedBy: '@lenet/ops',
      convertedBy: null,
      weightSpecs: specs,
      weightData: data,
      userDefinedMetadata: {
        // tfjs types metadata values as {} (any non-null JSON value).
        ...(metadata as NonNullable<tf.io.ModelArtifacts['userDefinedMetadata']>),
        format: WEIGHTS_FORMAT,
        activation: model.activation,
        pooling: model.pooling,
      },
    });
  } finally {
    tf.dispose(weights);
  }
}

/** Options of {@link loadWeights}. */
export interface LoadWeightsOptions {
  /**
   * Load weights that hold NaN or ±Infinity instead of refusing them (default false). Such a model predicts
   * nothing meaningful; a caller that sets this should warn, e.g. with {@link describeNonFiniteWeights} of the
   * returned `nonFinite`.
   */
  allowNonFinite?: boolean;
}

/** A weight that holds values that are not finite numbers, and how many. */
export interface NonFiniteWeight {
  name: string;
  /** How many of its values are NaN. */
  nan: number;
  /** How many of its values are +Infinity or -Infinity. */
  infinite: number;
  /** How many values it has in all. */
  size: number;
}

/** Thrown by {@link loadWeights} for weights that hold NaN or ±Infinity, unless `allowNonFinite` is set. */
export class NonFiniteWeightsError extends Error {
  /** Every weight that holds such values. */
  readonly weights: NonFiniteWeight[];

  constructor(weights: NonFiniteWeight[]) {
    super(
      `Cannot load LeNet-5 weights: ${describeNonFiniteWeights(weights)}; such weights predict nothing ` +
        'meaningful. Retrain them, or pass { allowNonFinite: true } to loadWeights to load them anyway.',
    );
    this.name = 'NonFiniteWeightsError';
    this.weights = weights;
  }
}

/** One line naming each weight that is not finite: `'C1/kernel' holds 3 NaN of its 150 values, 'F6/bias' ...`. */
export function describeNonFiniteWeights(weights: readonly NonFiniteWeight[]): string {
  return weights
    .map(({ name, nan, infinite, size }) => {
      const counts = [nan > 0 && `${nan} NaN`, infinite > 0 && `${infinite} infinite`].filter(Boolean);
      return `'${name}' holds ${counts.join(' and ')} of its ${size} values`;
    })
    .join(', ');
}

/** The tensors among `tensors` (e.g. a model's `params`) that hold NaN or ±Infinity, in their order. */
export async function findNonFiniteWeights(tensors: Record<string, tf.Tensor>): Promise<NonFiniteWeight[]> {
  const found: NonFiniteWeight[] = [];
  for (const [name, tensor] of Object.entries(tensors)) {
    if (tensor.dtype !== 'float32') continue;
    const values = (await tensor.data()) as Float32Array;
    let nan = 0;
    let infinite = 0;
    for (const value of values) {
      if (Number.isNaN(value)) nan++;
      else if (!Number.isFinite(value)) infinite++;
    }
    if (nan + infinite > 0) found.push({ name, nan, infinite, size: values.length });
  }
  return found;
}

/**
 * Loads weights written by {@link saveWeights} through any tfjs IO handler (tf.io.fromMemory, tf.io.http,
 * a file handler, ...) into a new model with the saved activation and pooling. Returns the model, the
 * saved `userDefinedMetadata`, and the weights that hold NaN or ±Infinity (empty unless `allowNonFinite` let
 * them through). Values are bit-identical to the saved ones. A refused load leaves no tensors behind.
 * @throws {@link WeightsManifestError} for weight specs that are malformed or describe too many bytes.
 * @throws {@link WeightsFormatError} listing every missing, unexpected or wrong-shaped weight and bad metadata.
 * @throws {@link NonFiniteWeightsError} for weights that hold NaN or ±Infinity, unless `allowNonFinite` is set.
 */
export async function loadWeights(
  handler: tf.io.IOHandler,
  options: LoadWeightsOptions = {},
): Promise<{ model: LeNet5; metadata: Record<string, unknown>; nonFinite: NonFiniteWeight[] }> {
  if (typeof handler.load !== 'function') {
    throw new TypeError(
      'loadWeights: this IO handler cannot load (it has no load method). Pass a load handler.',
    );
  }
  const artifacts = await handler.load();
  const metadata: Record<string, unknown> = { ...(artifacts.userDefinedMetadata ?? {}) };
  // Any handler may hand over specs from a stranger's file: the manifest rule makes them safe to read.
  const { weights: specs, byteLength } = checkWeightSpecs(artifacts.weightSpecs ?? []);

  const problems = [...checkMetadata(metadata), ...checkSpecs(specs)];
  if (artifacts.weightSpecs == null) problems.push('the artifacts have no weightSpecs');
  if (artifacts.weightData == null && artifacts.getWeightStream == null) {
    problems.push('the artifacts have no weight data');
  }
  if (artifacts.weightData != null) {
    const dataBytes = new tf.io.CompositeArrayBuffer(artifacts.weightData).byteLength;
    if (dataBytes !== byteLength) {
      problems.push(
        `the weight data does not match its specs: it holds ${dataBytes} bytes, the specs describe ${byteLength}`,
      );
    }
  }
  if (problems.length > 0) throw new WeightsFormatError(problems);

  let decoded: tf.NamedTensorMap;
  try {
    decoded =
      artifacts.weightData != null
        ? // tidy frees the tensors decoded before a failure; on success it keeps the returned map.
          tf.tidy(() => tf.io.decodeWeights(artifacts.weightData!, specs))
        : await tf.io.decodeWeightsStream(artifacts.getWeightStream!(), specs);
  } catch (error) {
    throw new WeightsFormatError([`the weight data does not match its specs: ${(error as Error).message}`]);
  }

  try {
    const nonFinite = await findNonFiniteWeights(decoded);
    if (nonFinite.length > 0 && options.allowNonFinite !== true) throw new NonFiniteWeightsError(nonFinite);
    const model = LeNet5.create({
      activation: metadata['activation'] as Activation,
      pooling: metadata['pooling'] as Pooling,
    });
    try {
      model.setWeights(decoded);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return { model, metadata, nonFinite };
  } finally {
    tf.dispose(decoded);
  }
}

function checkMetadata(metadata: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (metadata['format'] !== WEIGHTS_FORMAT) {
    problems.push(
      `userDefinedMetadata.format is ${JSON.stringify(metadata['format'])}, expected '${WEIGHTS_FORMAT}'`,
    );
  }
  if (!ACTIVATIONS.includes(metadata['activation'] as Activation)) {
    problems.push(
      `userDefinedMetadata.activation is ${JSON.stringify(metadata['activation'])}, expected one of ${ACTIVATIONS.join(', ')}`,
    );
  }
  if (!POOLINGS.includes(metadata['pooling'] as Pooling)) {
    problems.push(
      `userDefinedMetadata.pooling is ${JSON.stringify(metadata['pooling'])}, expected one of ${POOLINGS.join(', ')}`,
    );
  }
  return problems;
}

function checkSpecs(specs: tf.io.WeightsManifestEntry[]): string[] {
  const problems: string[] = [];
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  for (const name of PARAM_NAMES) {
    const spec = byName.get(name);
    const expected = PARAM_SHAPES[name];
    if (spec == null) {
      problems.push(`missing weight '${name}' (shape [${expected.join(',')}])`);
      continue;
    }
    if (spec.shape.length !== expected.length || spec.shape.some((d, i) => d !== expected[i])) {
      problems.push(`weight '${name}' has shape [${spec.shape.join(',')}], expected [${expected.join(',')}]`);
    }
    if (spec.dtype !== 'float32') problems.push(`weight '${name}' has dtype ${spec.dtype}, expected float32`);
  }
  for (const spec of specs) {
    // hasOwn, not `in`: a weight named 'constructor' or '__proto__' is no parameter either.
    if (!Object.hasOwn(PARAM_SHAPES, spec.name))
      problems.push(`unexpected weight '${spec.name}' (LeNet-5 has no such parameter)`);
  }
  if (byName.size !== specs.length) problems.push('some weight names appear more than once');
  return problems;
}
