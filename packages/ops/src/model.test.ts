import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InputShapeError,
  LAYER_NAMES,
  LeNet5,
  PARAM_NAMES,
  PARAM_SHAPES,
  type ParamName,
  WeightsMismatchError,
} from './model';
import { randomBatch, useCpuBackend } from './test-utils/cpu';

useCpuBackend();

const models: LeNet5[] = [];
function track(model: LeNet5): LeNet5 {
  models.push(model);
  return model;
}
afterEach(() => {
  for (const m of models.splice(0)) m.dispose();
});

async function values(weights: Record<ParamName, tf.Tensor>): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const name of PARAM_NAMES) out[name] = (await weights[name].data()) as Float32Array;
  tf.dispose(weights);
  return out;
}

describe('LeNet5 architecture', () => {
  it('produces every feature map with the reference NHWC shapes', () => {
    const model = track(LeNet5.create());
    const { x } = randomBatch(3, 1);
    const maps = model.forwardAll(x);
    expect(Object.keys(maps)).toEqual([...LAYER_NAMES]);
    expect(maps.C1.shape).toEqual([3, 28, 28, 6]);
    expect(maps.S2.shape).toEqual([3, 14, 14, 6]);
    expect(maps.C3.shape).toEqual([3, 10, 10, 16]);
    expect(maps.S4.shape).toEqual([3, 5, 5, 16]);
    expect(maps.C5.shape).toEqual([3, 1, 1, 120]);
    expect(maps.F6.shape).toEqual([3, 84]);
    expect(maps.output.shape).toEqual([3, 10]);
    tf.dispose([x, maps]);
  });

  it('has 61,706 parameters, split 156 / 0 / 2416 / 0 / 48120 / 10164 / 850 over the layers', () => {
    const model = track(LeNet5.create());
    expect(model.parameterCount()).toBe(61_706);
    const perLayer = LAYER_NAMES.map((layer) =>
      model
        .variables()
        .filter((_variable, i) => PARAM_NAMES[i]!.startsWith(`${layer}/`))
        .reduce((sum, v) => sum + v.size, 0),
    );
    expect(perLayer).toEqual([156, 0, 2416, 0, 48120, 10164, 850]);
    expect(model.variables().reduce((sum, v) => sum + v.size, 0)).toBe(61_706);
    for (const name of PARAM_NAMES) expect(model.params[name].shape).toEqual(PARAM_SHAPES[name]);
  });

  it('forward equals the output map of forwardAll, and predict is its softmax (rows sum to 1)', async () => {
    const model = track(LeNet5.create({ seed: 3 }));
    const { x } = randomBatch(2, 2);
    const logits = model.forward(x);
    const maps = model.forwardAll(x);
    expect(await logits.data()).toEqual(await maps.output.data());
    const probs = await model.predict(x).array();
    const rows = (await logits.array()) as number[][];
    rows.forEach((row, i) => {
      const max = Math.max(...row);
      const exps = row.map((v) => Math.exp(v - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, j) => {
        expect(probs[i]![j]).toBeCloseTo(e / sum, 6);
      });
      expect(probs[i]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    });
    tf.dispose([x, logits, maps]);
  });

  it('leaks no tensor in forward, forwardAll (after disposing its maps) and predict', () => {
    const model = track(LeNet5.create());
    const { x } = randomBatch(2, 3);
    const before = tf.memory().numTensors;
    model.forward(x).dispose();
    tf.dispose(model.forwardAll(x));
    model.predict(x).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('initialisation', () => {
  it('is reproducible: the same seed gives identical weights, another seed different ones', async () => {
    const a = await values(track(LeNet5.create({ seed: 7 })).getWeights());
    const b = await values(track(LeNet5.create({ seed: 7 })).getWeights());
    const c = await values(track(LeNet5.create({ seed: 8 })).getWeights());
    for (const name of PARAM_NAMES) {
      expect(b[name]).toEqual(a[name]);
      expect(c[name]).not.toEqual(a[name]);
    }
  });

  it('draws each parameter uniformly within ±1/sqrt(fan_in), as PyTorch does for Conv2d and Linear', async () => {
    const weights = await values(track(LeNet5.create({ seed: 11 })).getWeights());
    const fanIns: Record<string, number> = { C1: 25, C3: 150, C5: 400, F6: 120, output: 84 };
    for (const name of PARAM_NAMES) {
      const bound = 1 / Math.sqrt(fanIns[name.split('/')[0]!]!);
      const data = Array.from(weights[name]!);
      const max = Math.max(...data.map(Math.abs));
      expect(max).toBeLessThanOrEqual(bound);
      // Large parameters fill the interval: both ends are approached and the mean is near 0.
      if (data.length >= 1000) {
        expect(max).toBeGreaterThan(0.98 * bound);
        const mean = data.reduce((s, v) => s + v, 0) / data.length;
        expect(Math.abs(mean)).toBeLessThan(0.05 * bound);
      }
    }
  });

  it('rejects unknown options and non-integer seeds with a clear message', () => {
    expect(() => LeNet5.create({ activation: 'gelu' as never })).toThrow(
      /Unknown activation 'gelu'.*tanh, relu, sigmoid/,
    );
    expect(() => LeNet5.create({ pooling: 'sum' as never })).toThrow(/Unknown pooling 'sum'.*avg, max/);
    expect(() => LeNet5.create({ seed: 1.5 })).toThrow(/seed must be an integer/);
  });
});

describe('options', () => {
  it('activation and pooling change the output of the same weights', async () => {
    const { x } = randomBatch(2, 4);
    const reference = track(LeNet5.create({ seed: 5 }));
    const weights = reference.getWeights();
    const outputs: Float32Array[] = [];
    for (const options of [
      {},
      { activation: 'relu' as const },
      { activation: 'sigmoid' as const },
      { pooling: 'max' as const },
    ]) {
      const model = track(LeNet5.create({ seed: 5, ...options }));
      model.setWeights(weights);
      const logits = model.forward(x);
      outputs.push((await logits.data()) as Float32Array);
      logits.dispose();
    }
    for (let i = 0; i < outputs.length; i++) {
      for (let j = i + 1; j < outputs.length; j++) expect(outputs[i]).not.toEqual(outputs[j]);
    }
    tf.dispose([x, weights]);
  });

  it('max pooling picks the window maximum: S2 equals a max over 2x2 blocks of C1', async () => {
    const model = track(LeNet5.create({ pooling: 'max', activation: 'relu' }));
    const { x } = randomBatch(1, 6);
    const maps = model.forwardAll(x);
    const c1 = (await maps.C1.array()) as number[][][][];
    const s2 = (await maps.S2.array()) as number[][][][];
    for (const [i, j, c] of [
      [0, 0, 0],
      [3, 7, 2],
      [13, 13, 5],
    ] as const) {
      const window = [
        c1[0]![2 * i]![2 * j]![c]!,
        c1[0]![2 * i + 1]![2 * j]![c]!,
        c1[0]![2 * i]![2 * j + 1]![c]!,
      ];
      window.push(c1[0]![2 * i + 1]![2 * j + 1]![c]!);
      expect(s2[0]![i]![j]![c]).toBe(Math.max(...window));
    }
    tf.dispose([x, maps]);
  });
});

describe('input validation', () => {
  it('names the expected shape [n, 32, 32, 1] when given another shape or dtype', () => {
    const model = track(LeNet5.create());
    const mnistSized = tf.zeros([2, 28, 28, 1]) as tf.Tensor4D;
    const nchw = tf.zeros([2, 1, 32, 32]) as tf.Tensor4D;
    const ints = tf.zeros([1, 32, 32, 1], 'int32') as tf.Tensor4D;
    expect(() => model.forward(mnistSized)).toThrow(InputShapeError);
    expect(() => model.forward(mnistSized)).toThrow(
      /\[n, 32, 32, 1\].*got shape \[2, 28, 28, 1\].*pad or resize/,
    );
    expect(() => model.predict(nchw)).toThrow(/\[n, 32, 32, 1\].*got shape \[2, 1, 32, 32\]/);
    expect(() => model.forwardAll(ints)).toThrow(/got dtype int32/);
    tf.dispose([mnistSized, nchw, ints]);
  });

  it('refuses to run after dispose', () => {
    const model = LeNet5.create();
    model.dispose();
    const { x } = randomBatch(1, 1);
    expect(() => model.forward(x)).toThrow(/disposed/);
    x.dispose();
  });
});

describe('getWeights / setWeights', () => {
  it('getWeights returns copies that survive later changes to the model', async () => {
    const model = track(LeNet5.create({ seed: 1 }));
    const snapshot = model.getWeights();
    const before = (await snapshot['F6/bias'].data()).slice();
    model.params['F6/bias'].assign(tf.zeros([84]));
    expect(await snapshot['F6/bias'].data()).toEqual(before);
    tf.dispose(snapshot);
  });

  it('copies weights from another model, from tensors or flat arrays, so both compute the same', async () => {
    const source = track(LeNet5.create({ seed: 21 }));
    const target = track(LeNet5.create({ seed: 22 }));
    const weights = source.getWeights();
    const flat: Record<string, Float32Array> = {};
    for (const name of PARAM_NAMES) flat[name] = (await weights[name].data()) as Float32Array;
    const { x } = randomBatch(2, 9);
    target.setWeights(flat);
    expect(await target.forward(x).data()).toEqual(await source.forward(x).data());
    target.setWeights(weights);
    tf.dispose(weights);
    // The variables keep their values after the caller disposes the tensors it passed in.
    expect(await target.forward(x).data()).toEqual(await source.forward(x).data());
    x.dispose();
  });

  it('lists every missing, unexpected and wrong-shaped weight in one error and changes nothing', async () => {
    const model = track(LeNet5.create({ seed: 2 }));
    const before = await values(model.getWeights());
    const weights: Record<string, tf.Tensor | Float32Array> = model.getWeights();
    const missingKernel = weights['C1/kernel'] as tf.Tensor;
    delete weights['C1/kernel'];
    const wrongShape = weights['C3/kernel'] as tf.Tensor;
    weights['C3/kernel'] = tf.zeros([5, 5, 16, 6]);
    weights['F6/bias'] = new Float32Array(83);
    weights['C2/kernel'] = tf.zeros([1]);

    let error: unknown;
    try {
      model.setWeights(weights);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsMismatchError);
    const problems = (error as WeightsMismatchError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/missing 'C1\/kernel'/);
    expect(problems.join('\n')).toMatch(/unexpected 'C2\/kernel'/);
    expect(problems.join('\n')).toMatch(/'C3\/kernel': shape \[5,5,16,6\] but expected \[5,5,6,16\]/);
    expect(problems.join('\n')).toMatch(/'F6\/bias': 83 values but shape \[84\] needs 84/);
    expect(await values(model.getWeights())).toEqual(before);
    tf.dispose([missingKernel, wrongShape, ...Object.values(weights).filter((w) => w instanceof tf.Tensor)]);
  });
});
