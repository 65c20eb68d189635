import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { LeNet5, PARAM_NAMES } from './model';
import { randomBatch, useCpuBackend } from './test-utils/cpu';
import {
  describeNonFiniteWeights,
  loadWeights,
  NonFiniteWeightsError,
  saveWeights,
  WeightsFormatError,
} from './weights';
import { WeightsManifestError } from './weights-manifest';

useCpuBackend();

/** Saves through tf.io.withSaveHandler and returns what a storage backend would receive. */
async function saveToMemory(
  model: LeNet5,
  metadata?: Record<string, unknown>,
): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await saveWeights(
    model,
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    metadata,
  );
  return saved!;
}

/** The raw float32 bytes of every parameter. */
async function bytesOf(model: LeNet5): Promise<Uint8Array[]> {
  return Promise.all(
    PARAM_NAMES.map(
      async (name) => new Uint8Array(((await model.params[name].data()) as Float32Array).buffer.slice(0)),
    ),
  );
}

async function loadError(artifacts: tf.io.ModelArtifacts): Promise<WeightsFormatError> {
  const error = await loadWeights(tf.io.fromMemory(artifacts)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WeightsFormatError);
  return error as WeightsFormatError;
}

describe('saveWeights / loadWeights', () => {
  it('round-trips bit-identically, with activation, pooling and metadata', async () => {
    const model = LeNet5.create({ seed: 9, activation: 'relu', pooling: 'max' });
    // Train-like perturbation so the values are not just the seeded init a fresh model would recreate.
    model.params['C1/bias'].assign(tf.tensor1d([0.1, -0.2, 1e-30, -0, 3.4e38, Number.MIN_VALUE]));
    const before = tf.memory().numTensors;
    const artifacts = await saveToMemory(model, { epoch: 3, accuracy: 0.985 });
    expect(tf.memory().numTensors).toBe(before);

    expect(artifacts.weightSpecs!.map((s) => [s.name, s.dtype])).toEqual(
      PARAM_NAMES.map((n) => [n, 'float32']),
    );
    expect(artifacts.userDefinedMetadata).toEqual({
      epoch: 3,
      accuracy: 0.985,
      format: 'lenet5',
      activation: 'relu',
      pooling: 'max',
    });

    const { model: loaded, metadata } = await loadWeights(tf.io.fromMemory(artifacts));
    expect(loaded.activation).toBe('relu');
    expect(loaded.pooling).toBe('max');
    expect(metadata).toMatchObject({ epoch: 3, accuracy: 0.985 });
    expect(await bytesOf(loaded)).toEqual(await bytesOf(model));
    const { x } = randomBatch(2, 1);
    expect(await loaded.forward(x).data()).toEqual(await model.forward(x).data());
    x.dispose();
    loaded.dispose();
    model.dispose();
  });

  it('keeps activation, pooling and format when the caller metadata tries to override them', async () => {
    const model = LeNet5.create();
    const artifacts = await saveToMemory(model, { activation: 'relu', format: 'other' });
    expect(artifacts.userDefinedMetadata).toMatchObject({
      format: 'lenet5',
      activation: 'tanh',
      pooling: 'avg',
    });
    model.dispose();
  });

  it('lists every missing, extra and wrong-shaped weight in one WeightsFormatError', async () => {
    const model = LeNet5.create();
    const artifacts = await saveToMemory(model);
    model.dispose();
    const specs = artifacts.weightSpecs!.map((s) => ({ ...s }));
    // Same byte layout, different names and shapes: drop C1/bias's name, rename C3/kernel, reshape F6/kernel.
    specs[1]!.name = 'C1/beta';
    specs[2]!.name = 'C3/weights';
    specs[6]!.shape = [84, 120];
    const error = await loadError({ ...artifacts, weightSpecs: specs });
    expect(error.problems).toEqual([
      "missing weight 'C1/bias' (shape [6])",
      "missing weight 'C3/kernel' (shape [5,5,6,16])",
      "weight 'F6/kernel' has shape [84,120], expected [120,84]",
      "unexpected weight 'C1/beta' (LeNet-5 has no such parameter)",
      "unexpected weight 'C3/weights' (LeNet-5 has no such parameter)",
    ]);
    expect(error.message).toMatch(/Cannot load LeNet-5 weights \(5 problems\)/);
  });

  it('rejects artifacts that are not LeNet-5 weights or lack their data', async () => {
    const model = LeNet5.create();
    const artifacts = await saveToMemory(model);
    model.dispose();
    const foreign = await loadError({
      ...artifacts,
      userDefinedMetadata: { activation: 'gelu', pooling: 'avg' },
    });
    expect(foreign.problems).toEqual([
      "userDefinedMetadata.format is undefined, expected 'lenet5'",
      'userDefinedMetadata.activation is "gelu", expected one of tanh, relu, sigmoid',
    ]);
    const noData = await loadError({ ...artifacts, weightData: undefined });
    expect(noData.problems).toEqual(['the artifacts have no weight data']);
    const truncated = await loadError({
      ...artifacts,
      weightData: (artifacts.weightData as ArrayBuffer).slice(0, 1000),
    });
    expect(truncated.problems).toEqual([
      'the weight data does not match its specs: it holds 1000 bytes, the specs describe 246824',
    ]);
  });

  it("counts a weight named like an object's own property ('constructor') as unexpected", async () => {
    const model = LeNet5.create();
    const artifacts = await saveToMemory(model);
    model.dispose();
    const specs = artifacts.weightSpecs!.map((s) => ({
      ...s,
      name: s.name === 'C1/bias' ? 'constructor' : s.name,
    }));
    const error = await loadError({ ...artifacts, weightSpecs: specs });
    expect(error.problems).toContain("unexpected weight 'constructor' (LeNet-5 has no such parameter)");
  });

  it('refuses malformed weight specs from any handler in one line naming the spec', async () => {
    const model = LeNet5.create();
    const artifacts = await saveToMemory(model);
    model.dispose();
    const specs: unknown[] = artifacts.weightSpecs!.map((s) => ({ ...s }));
    (specs[2] as { shape: unknown }).shape = 5;
    const error = await loadWeights(
      tf.io.fromMemory({ ...artifacts, weightSpecs: specs as tf.io.WeightsManifestEntry[] }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsManifestError);
    expect((error as Error).message).toBe(
      "weightSpecs[2].shape of 'C3/kernel' is 5, expected an array of sizes such as [5,5,1,6]",
    );
  });

  it('leaks no tensors when loading fails', async () => {
    const model = LeNet5.create();
    const artifacts = await saveToMemory(model);
    model.dispose();
    const before = tf.memory().numTensors;
    const specs = artifacts.weightSpecs!.map((s) => ({
      ...s,
      name: s.name === 'output/bias' ? 'out/bias' : s.name,
    }));
    await loadError({ ...artifacts, weightSpecs: specs });
    await loadError({ ...artifacts, weightData: (artifacts.weightData as ArrayBuffer).slice(0, 1000) });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses weights holding NaN or ±Infinity, naming each and how many, and leaks nothing', async () => {
    const model = LeNet5.create();
    model.params['C1/bias'].assign(tf.tensor1d([Number.NaN, 1, Number.NaN, 2, 3, 4]));
    model.params['output/bias'].assign(tf.fill([10], Number.NEGATIVE_INFINITY));
    const artifacts = await saveToMemory(model);
    model.dispose();
    const before = tf.memory().numTensors;
    const error = await loadWeights(tf.io.fromMemory(artifacts)).catch((e: unknown) => e);
    expect(tf.memory().numTensors).toBe(before);
    expect(error).toBeInstanceOf(NonFiniteWeightsError);
    expect((error as NonFiniteWeightsError).weights).toEqual([
      { name: 'C1/bias', nan: 2, infinite: 0, size: 6 },
      { name: 'output/bias', nan: 0, infinite: 10, size: 10 },
    ]);
    expect((error as Error).message).toBe(
      "Cannot load LeNet-5 weights: 'C1/bias' holds 2 NaN of its 6 values, 'output/bias' holds 10 infinite of " +
        'its 10 values; such weights predict nothing meaningful. Retrain them, or pass { allowNonFinite: true } ' +
        'to loadWeights to load them anyway.',
    );
  });

  it('loads non-finite weights when the caller allows them, and says which they are', async () => {
    const model = LeNet5.create();
    model.params['F6/kernel'].assign(tf.fill([120, 84], Number.POSITIVE_INFINITY));
    const artifacts = await saveToMemory(model);
    model.dispose();
    const before = tf.memory().numTensors;
    const { model: loaded, nonFinite } = await loadWeights(tf.io.fromMemory(artifacts), {
      allowNonFinite: true,
    });
    expect(nonFinite).toEqual([{ name: 'F6/kernel', nan: 0, infinite: 10080, size: 10080 }]);
    expect(describeNonFiniteWeights(nonFinite)).toBe("'F6/kernel' holds 10080 infinite of its 10080 values");
    expect(
      Array.from(await loaded.params['F6/kernel'].data()).every((v) => v === Number.POSITIVE_INFINITY),
    ).toBe(true);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
