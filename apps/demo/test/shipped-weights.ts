/** The site's shipped weights (dist/weights/), loaded in Node on tfjs' cpu backend: what the page's results are checked against. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Preprocessing } from '@lenet/data';
import { type LeNet5, loadWeights } from '@lenet/ops';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

/** The model of `dist`/weights/ on the cpu backend (the caller disposes it), and the preprocessing it records. */
export async function shippedModel(dist: string): Promise<{ model: LeNet5; preprocessing: Preprocessing }> {
  await tf.setBackend('cpu');
  const manifest = JSON.parse(readFileSync(join(dist, 'weights', 'model.json'), 'utf8'));
  const bin = readFileSync(join(dist, 'weights', 'weights.bin'));
  const { model, metadata } = await loadWeights(
    tf.io.fromMemory({
      modelTopology: manifest.modelTopology,
      weightSpecs: manifest.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      userDefinedMetadata: manifest.userDefinedMetadata,
    }),
  );
  return { model, preprocessing: metadata['preprocessing'] as Preprocessing };
}
