import { DEFAULT_PREPROCESSING, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { PARAM_NAMES, PARAM_SHAPES, type ParamName } from '@lenet/ops';
import { beforeAll, describe, expect, it } from 'vitest';
import { lenet5Loss, lenet5Reference, type ReferenceParams } from '../../../../test-utils/lenet5-reference';
import { randomValues } from '../../../../test-utils/random';

// The float64 reference that every backend is held to (suite.ts) is itself checked here: its gradients
// against central differences of its own loss, on a tiny batch of real MNIST digits.

const BATCH = 3;
/** Entries checked per parameter tensor: the largest gradient, the first and last, and a few seeded ones. */
const SEEDED_ENTRIES = 3;
/** float64 central differences: truncation error ~h^2, rounding ~1e-16/h, both far below the gradients. */
const H = 1e-5;
const TOLERANCE = 1e-6;

/** PyTorch's default initialisation, uniform in ±1/sqrt(fanIn), from seeded values (no tfjs here). */
function seededParams(): Record<ParamName, Float64Array> {
  const params = {} as Record<ParamName, Float64Array>;
  PARAM_NAMES.forEach((name, index) => {
    const layer = name.split('/')[0];
    const kernel = PARAM_SHAPES[`${layer}/kernel` as ParamName];
    const bound = 1 / Math.sqrt(kernel.slice(0, -1).reduce((a, b) => a * b, 1));
    const count = PARAM_SHAPES[name].reduce((a, b) => a * b, 1);
    params[name] = Float64Array.from(randomValues(count, 100 + index), (v) => v * bound);
  });
  return params;
}

function entriesToCheck(gradient: Float64Array, seed: number): number[] {
  let largest = 0;
  for (let i = 1; i < gradient.length; i++) {
    if (Math.abs(gradient[i]!) > Math.abs(gradient[largest]!)) largest = i;
  }
  const seeded = Array.from(randomValues(SEEDED_ENTRIES, seed), (v) =>
    Math.floor(((v + 1) / 2) * gradient.length),
  );
  return [...new Set([largest, 0, gradient.length - 1, ...seeded])];
}

describe('the float64 LeNet-5 reference', () => {
  let params: Record<ParamName, Float64Array>;
  let x: Float32Array;
  let labels: Int32Array;

  beforeAll(async () => {
    const mnist = await loadEmbeddedMnist();
    x = preprocessImages(mnist.test.images.subarray(0, BATCH * 28 * 28), BATCH, DEFAULT_PREPROCESSING);
    labels = Int32Array.from(mnist.test.labels.subarray(0, BATCH));
    params = seededParams();
  });

  it('gives the loss of its own logits: the mean of -log softmax at the labels', () => {
    const { logits, loss } = lenet5Reference(params, x, labels);
    expect(logits).toHaveLength(BATCH * 10);
    let sum = 0;
    for (let b = 0; b < BATCH; b++) {
      const row = Array.from(logits.subarray(b * 10, b * 10 + 10));
      sum += Math.log(row.reduce((total, z) => total + Math.exp(z), 0)) - row[labels[b]!]!;
    }
    expect(loss).toBeCloseTo(sum / BATCH, 12);
    expect(lenet5Loss(params, x, labels)).toBe(loss);
  });

  it('gives the output bias as logits when every kernel is zero', () => {
    const zeroKernels: ReferenceParams = { ...params };
    for (const name of PARAM_NAMES) {
      if (name.endsWith('/kernel')) zeroKernels[name] = new Float64Array(params[name].length);
    }
    const { logits, gradients } = lenet5Reference(zeroKernels, x, labels);
    for (let b = 0; b < BATCH; b++) {
      expect(Array.from(logits.subarray(b * 10, b * 10 + 10))).toEqual(Array.from(params['output/bias']));
    }
    // Zero kernels pass no gradient down to the layer below them, so C1's kernel learns nothing.
    expect(gradients['C1/kernel'].every((g) => g === 0)).toBe(true);
  });

  it.each(PARAM_NAMES.map((name, index) => [name, index] as const))(
    'gives d loss / d %s as central differences do',
    (name, index) => {
      const analytic = lenet5Reference(params, x, labels).gradients[name];
      expect(
        analytic.some((g) => g !== 0),
        `some gradient of ${name} is non-zero`,
      ).toBe(true);
      const scale = Math.max(...Array.from(analytic, Math.abs));
      for (const entry of entriesToCheck(analytic, 200 + index)) {
        const original = params[name][entry]!;
        params[name][entry] = original + H;
        const plus = lenet5Loss(params, x, labels);
        params[name][entry] = original - H;
        const minus = lenet5Loss(params, x, labels);
        params[name][entry] = original;
        const numeric = (plus - minus) / (2 * H);
        expect(
          Math.abs(numeric - analytic[entry]!) / scale,
          `${name}[${entry}]: analytic ${analytic[entry]}, numeric ${numeric}`,
        ).toBeLessThanOrEqual(TOLERANCE);
      }
    },
  );
});
