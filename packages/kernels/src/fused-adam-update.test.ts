import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { MNIST_MEAN, MNIST_STD, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import {
  createOptimizer,
  type FusedAdamOptimizer,
  FusedAdamUpdate,
  FusedAdamUpdateInPlace,
  LeNet5,
} from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackendWithKernels } from './test-utils/backends';

// Both backends' FusedAdamUpdate (cpu: one JS loop, wasm: one SIMD pass) against tfjs's own Adam,
// which runs about a dozen stock kernels per variable: the results must be the same bits.
let images: Float32Array;
let labels: Int32Array;

beforeAll(async () => {
  const mnist = await loadEmbeddedMnist();
  const preprocessing = { resize: 'pad', normalize: { mean: MNIST_MEAN, std: MNIST_STD } } as const;
  images = preprocessImages(mnist.train.images.subarray(0, 16 * 784), 16, preprocessing);
  labels = Int32Array.from(mnist.train.labels.subarray(0, 16));
});

describe.each(['cpu', 'wasm'] as const)('FusedAdamUpdate on %s (createOptimizer("adam"))', (backend) => {
  /** Weights and Adam state after `steps` steps at changing learning rates, by `optimizer`. */
  async function adamSteps(
    make: () => tf.Optimizer,
    steps: number,
    restoreAt = -1,
    how: 'tensors' | 'flat' = 'tensors',
  ) {
    await useBackendWithKernels(backend);
    const model = LeNet5.create({ seed: 3 });
    let optimizer = make();
    const x = tf.tensor4d(images.subarray(0, 16 * 1024), [16, 32, 32, 1]);
    const y = tf.tensor1d(labels.subarray(0, 16), 'int32');
    for (let step = 0; step < steps; step++) {
      if (step === restoreAt) {
        // Save and restore through getWeights/setWeights, as a checkpoint does.
        const saved = (await optimizer.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
        optimizer.dispose();
        optimizer = make();
        await optimizer.setWeights(saved);
        tf.dispose(saved.map((w) => w.tensor)); // as decodeOptimizerState does: the slots own their data again
      }
      (optimizer as unknown as { learningRate: number }).learningRate = 1e-3 * (1 + step);
      if (how === 'flat') {
        const { value, grads } = model.lossAndGradients(x, y);
        const flat = new Float32Array(model.variables().reduce((sum, v) => sum + v.size, 0));
        let offset = 0;
        for (const v of model.variables()) {
          flat.set(grads[v.name]!.dataSync(), offset);
          offset += v.size;
        }
        tf.dispose([value, grads]);
        expect((optimizer as FusedAdamOptimizer).applyFlatGradients(model.variables(), flat)).toBe(true);
      } else {
        tf.tidy(() => optimizer.applyGradients(model.lossAndGradients(x, y).grads));
      }
    }
    const weights = model.variables().map((v) => v.dataSync());
    // Slot names start with the model's own prefix (lenet5_<n>/), which differs between the two runs.
    const state = (await optimizer.getWeights()).map((w) => [
      w.name.replace(/^lenet5_\d+\//, ''),
      w.tensor.dataSync(),
    ]);
    const iterations = optimizer.iterations;
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
    return { weights, state, iterations };
  }

  it('is registered', async () => {
    await useBackendWithKernels(backend);
    expect(tf.getKernel(FusedAdamUpdate, backend)).toBeDefined();
  });

  it('updates weights and moments bit for bit as tf.train.adam does, across a save and restore', async () => {
    const tfjs = await adamSteps(() => tf.train.adam(1e-3), 6);
    const fused = await adamSteps(() => createOptimizer('adam', 1e-3), 6, 3);
    expect(fused.iterations).toBe(6);
    expect(fused.weights).toEqual(tfjs.weights);
    expect(fused.state).toEqual(tfjs.state);
  });

  it('applies a flat gradient in place (FusedAdamUpdateInPlace) bit for bit as tf.train.adam does, across a restore', async () => {
    await useBackendWithKernels(backend);
    expect(tf.getKernel(FusedAdamUpdateInPlace, backend)).toBeDefined();
    const tfjs = await adamSteps(() => tf.train.adam(1e-3), 6);
    const flat = await adamSteps(() => createOptimizer('adam', 1e-3), 6, 3, 'flat');
    expect(flat.iterations).toBe(6);
    expect(flat.weights).toEqual(tfjs.weights);
    expect(flat.state).toEqual(tfjs.state);
  });

  it('applies nothing in place while another tensor shares a variable’s data, and leaves no tensor behind', async () => {
    await useBackendWithKernels(backend);
    const model = LeNet5.create({ seed: 4 });
    const optimizer = createOptimizer('adam', 1e-2) as FusedAdamOptimizer;
    const gradients = new Float32Array(model.variables().reduce((sum, v) => sum + v.size, 0)).fill(0.5);
    expect(optimizer.applyFlatGradients(model.variables(), gradients)).toBe(true); // makes the moments
    const variable = model.variables()[0]!;
    const copy = tf.clone(variable); // shares the variable's buffer
    const before = variable.dataSync().slice();
    expect(optimizer.applyFlatGradients(model.variables(), gradients)).toBe(false);
    expect(variable.dataSync()).toEqual(before);
    expect(copy.dataSync()).toEqual(before);
    expect(optimizer.iterations).toBe(1);
    copy.dispose();
    const tensors = tf.memory().numTensors;
    expect(optimizer.applyFlatGradients(model.variables(), gradients)).toBe(true);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(variable.dataSync()).not.toEqual(before);
    expect(() => optimizer.applyFlatGradients(model.variables(), gradients.subarray(1))).toThrow(RangeError);
    model.dispose();
    optimizer.dispose();
  });
});
