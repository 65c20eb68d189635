import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect } from 'vitest';

/** Runs the file's tests on the real cpu backend; fails loudly if tfjs silently picked another one. */
export function useCpuBackend(): void {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
}

/** A small deterministic PRNG (mulberry32), so test inputs do not depend on tfjs' own random ops. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` random "images" [n, 32, 32, 1] with pixels in [0, 1), and `n` labels cycling 0..9. */
export function randomBatch(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const { x, labels } = randomBatchArrays(n, seed);
  return { x: tf.tensor4d(x, [n, 32, 32, 1]), y: tf.tensor1d(labels, 'int32') };
}

/** {@link randomBatch} as the plain arrays the replica protocol carries. */
export function randomBatchArrays(n: number, seed: number): { x: Float32Array; labels: Int32Array } {
  const random = seededRandom(seed);
  return {
    x: Float32Array.from({ length: n * 32 * 32 }, random),
    labels: Int32Array.from({ length: n }, (_, i) => (i + seed) % 10),
  };
}
