import { loadEmbeddedMnist } from '@lenet/data/node';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConformanceCase,
  type ConformanceSize,
  compareWithReference,
  fusedGradientsRegistered,
  GRADIENT_REL_TOLERANCE,
  LOGITS_ABS_TOLERANCE,
  makeCase,
  type ReferenceErrors,
  referenceOf,
  trainTwice,
} from '../../../../test-utils/conformance/checks';
import {
  expectGradientsConform,
  expectLogitsConform,
  expectTrainingConforms,
} from '../../../../test-utils/conformance/expectations';
import { type BackendOptions, type NodeBackendName, releaseBackend, useBackend } from '../backends';

export type { ConformanceSize };

/**
 * Defines the conformance tests for one backend: the same LeNet-5 with the same weights and real MNIST
 * images must give the float64 reference's logits, loss and gradients (test-utils/lenet5-reference.ts),
 * learn, leak no tensor per step, and repeat itself bit for bit from the same seed. The checks themselves
 * are test-utils/conformance/, which the Chromium test (apps/demo/test/conformance.test.ts) runs too. A
 * backend that does not start here gets one skipped test whose name says why, so a report never counts
 * it as passed.
 */
export async function defineConformanceSuite(
  backend: NodeBackendName,
  size: ConformanceSize,
  options: BackendOptions = {},
): Promise<void> {
  let device: string;
  let tfjsName: string;
  try {
    device = (await useBackend(backend, options)).device;
    tfjsName = tf.getBackend();
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    // CI names the backends it installs, so that one that silently stopped starting fails instead of skipping.
    const required = (process.env.LENET_REQUIRE_BACKENDS ?? '').split(',').includes(backend);
    describe(`conformance on ${backend}`, () => {
      if (required) {
        it(`${backend} is required by LENET_REQUIRE_BACKENDS but does not start`, () => {
          throw new Error(reason);
        });
      } else {
        it.skip(`SKIPPED: ${backend} is not available here: ${reason}`, () => {});
      }
    });
    return;
  }

  const fused = fusedGradientsRegistered()
    ? 'the fused LeNet5Gradients kernel'
    : `the tape: ${backend} registers no fused kernel`;
  describe(`conformance on ${backend} (${device})`, () => {
    let fixture: ConformanceCase;
    let errors: ReferenceErrors;

    beforeAll(async () => {
      const mnist = await loadEmbeddedMnist();
      fixture = await makeCase(mnist.test.images, mnist.test.labels, size.batchSize);
      errors = await compareWithReference(fixture, referenceOf(fixture));
    });
    afterAll(() => releaseBackend());

    it(`gives the float64 reference's logits within ${LOGITS_ABS_TOLERANCE}`, () => {
      expect(tf.getBackend()).toBe(tfjsName);
      expectLogitsConform(backend, errors);
    });

    it(`gives the reference's loss and every gradient within ${GRADIENT_REL_TOLERANCE} relative error through tf.variableGrads`, () => {
      expectGradientsConform(backend, errors, 'tape');
    });

    it(`gives the reference's loss and gradients through LeNet5.lossAndGradients (${fused})`, () => {
      expectGradientsConform(backend, errors, 'fused');
    });

    it(`lowers the loss in ${size.steps} steps without leaking a tensor, the same way twice from one seed`, async () => {
      expectTrainingConforms(backend, await trainTwice(fixture, size.steps));
    });
  });
}
