import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import * as ops from './index';
import * as parallel from './parallel/index';
import * as pytorch from './pytorch/index';
import { randomBatch, useCpuBackend } from './test-utils/cpu';

useCpuBackend();

describe('@lenet/ops entry point', () => {
  it('registers the gradients on import, so a model can be trained with tfjs-core alone', async () => {
    // tfjs-core by itself has no gradient for Conv2D, AvgPool, Tanh, ...; this would throw without ./gradients.
    const model = ops.LeNet5.create();
    const { x, y } = randomBatch(1, 1);
    const loss = await ops.trainStep(model, ops.createOptimizer('sgd', 0.01), x, y);
    expect(Number.isFinite(loss)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('exports the whole public API', () => {
    for (const name of [
      'LeNet5',
      'LAYER_NAMES',
      'PARAM_SHAPES',
      'softmax',
      'logSoftmax',
      'crossEntropy',
      'createOptimizer',
      'trainStep',
      'NonFiniteLossError',
      'evaluate',
      'predictProbabilities',
      'summary',
      'formatSummary',
      'shapeWalk',
      'saveWeights',
      'loadWeights',
      'WeightsFormatError',
    ]) {
      expect(ops, name).toHaveProperty(name);
    }
  });

  it('leaves PyTorch weights and data-parallel training to @lenet/ops/pytorch and @lenet/ops/parallel', () => {
    for (const name of ['importPyTorchWeights', 'exportSafetensors', 'readTorchCheckpoint']) {
      expect(pytorch, name).toHaveProperty(name);
      expect(ops, name).not.toHaveProperty(name);
    }
    for (const name of ['ParallelCoordinator', 'inProcessChannel', 'ReplicaServer', 'encodeOptimizerState']) {
      expect(parallel, name).toHaveProperty(name);
      expect(ops, name).not.toHaveProperty(name);
    }
  });
});
