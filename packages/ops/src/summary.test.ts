import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { LAYER_NAMES, LeNet5 } from './model';
import { formatSummary, shapeWalk, summary } from './summary';
import { randomBatch, useCpuBackend } from './test-utils/cpu';

useCpuBackend();

describe('summary', () => {
  it('lists Input, C1 .. output and softmax with the real output shapes and parameter counts', () => {
    const rows = summary();
    expect(rows.map((r) => r.layer)).toEqual(['Input', ...LAYER_NAMES, 'softmax']);
    expect(rows.map((r) => r.params)).toEqual([0, 156, 0, 2416, 0, 48120, 10164, 850, 0]);

    // The table is computed statically; check it against a real forward pass.
    const model = LeNet5.create();
    const { x } = randomBatch(2, 1);
    const maps = model.forwardAll(x);
    for (const layer of LAYER_NAMES) {
      const row = rows.find((r) => r.layer === layer)!;
      expect(
        row.outputShape.map((d) => (d === -1 ? 2 : d)),
        layer,
      ).toEqual(maps[layer].shape);
    }
    expect(rows.reduce((s, r) => s + r.params, 0)).toBe(model.parameterCount());
    tf.dispose([x, maps]);
    model.dispose();
  });

  it('names the activation and pooling in the layer types', () => {
    expect(summary()[1]!.type).toBe('Conv2D 5x5 + tanh');
    expect(summary()[2]!.type).toBe('AvgPool 2x2/2');
    const relu = summary({ activation: 'relu', pooling: 'max' });
    expect(relu[1]!.type).toBe('Conv2D 5x5 + relu');
    expect(relu[4]!.type).toBe('MaxPool 2x2/2');
    expect(relu[6]!.type).toBe('Flatten + Dense + relu');
  });

  it('formats a torchsummary-like table ending with the totals', () => {
    const text = formatSummary(summary());
    const lines = text.split('\n');
    expect(text).toMatch(/Layer \(type\)\s+Output Shape\s+Param #/);
    expect(text).toMatch(/C1 \(Conv2D 5x5 \+ tanh\)\s+\[-1, 28, 28, 6\]\s+156\n/);
    expect(text).toMatch(/C5 \(Conv2D 5x5 \+ tanh\)\s+\[-1, 1, 1, 120\]\s+48,120\n/);
    expect(text).toMatch(/output \(Dense \(logits\)\)\s+\[-1, 10\]\s+850\n/);
    expect(lines.slice(-4)).toEqual([
      'Total params: 61,706',
      'Trainable params: 61,706',
      'Non-trainable params: 0',
      lines.at(-1),
    ]);
    expect(lines.at(-1)).toMatch(/^-+$/);
    // Columns line up: every table row is as wide as the rules.
    const width = lines[1]!.length;
    for (const line of lines.slice(2, 14)) expect(line.length).toBe(width);
  });
});

describe('shapeWalk', () => {
  it("prints the seed's x_0 .. x_8 shape trace in NHWC", () => {
    expect(shapeWalk()).toEqual([
      'x_0 = [n, 32, 32, 1]  input',
      'x_1 = [n, 28, 28, 6]  C1 Conv2D 5x5 + tanh',
      'x_2 = [n, 14, 14, 6]  S2 AvgPool 2x2/2',
      'x_3 = [n, 10, 10, 16]  C3 Conv2D 5x5 + tanh',
      'x_4 = [n, 5, 5, 16]  S4 AvgPool 2x2/2',
      'x_5 = [n, 1, 1, 120]  C5 Conv2D 5x5 + tanh',
      'x_6 = [n, 120]  flatten',
      'x_7 = [n, 84]  F6 Dense + tanh',
      'x_8 = [n, 10]  output Dense (logits)',
    ]);
  });
});
