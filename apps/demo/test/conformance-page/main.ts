/**
 * The conformance page (tests only): sets one backend up with @lenet/web's setupBackend, then runs the shared
 * conformance checks (test-utils/conformance/) on the real MNIST items the Node test serves, and gives the
 * results to the test through window.conformance.
 */
import { parseIdxImages, parseIdxLabels } from '@lenet/data';
import { registerKernels } from '@lenet/kernels';
import { BackendUnavailableError, parseBackendName, setupBackend } from '@lenet/web';
import * as tf from '@tensorflow/tfjs-core';
import {
  compareWithReference,
  fusedGradientsRegistered,
  makeCase,
  referenceOf,
  trainTwice,
} from '../../../../test-utils/conformance/checks';
import type { ConformanceReport, SetupReport } from './protocol';

async function fetchInput(name: string): Promise<Uint8Array> {
  const response = await fetch(new URL(`inputs/${name}`, window.location.href));
  if (!response.ok) throw new Error(`inputs/${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

window.conformance = {
  async setup(backend: string): Promise<SetupReport> {
    try {
      await setupBackend({
        backend: parseBackendName(backend),
        wasmPaths: new URL('tfjs-wasm/', window.location.href).href,
      });
    } catch (error) {
      if (error instanceof BackendUnavailableError) return { started: false, reason: error.reason };
      throw error;
    }
    // setupBackend registered them already; registering again changes nothing and says what is registered.
    const { kernels, simdSkipped } = registerKernels();
    return {
      started: true,
      backend: tf.getBackend(),
      kernels,
      simdSkipped,
      fused: fusedGradientsRegistered(),
    };
  },

  async run({ batchSize, steps }): Promise<ConformanceReport> {
    const images = parseIdxImages(await fetchInput('images.idx'), 'inputs/images.idx');
    const labels = parseIdxLabels(await fetchInput('labels.idx'), 'inputs/labels.idx');
    const fixture = await makeCase(images.pixels, labels.labels, batchSize);
    return {
      backend: tf.getBackend(),
      errors: await compareWithReference(fixture, referenceOf(fixture)),
      training: await trainTwice(fixture, steps),
    };
  },
};
