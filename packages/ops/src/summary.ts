import {
  type Activation,
  INPUT_SIZE,
  type LeNet5Options,
  NUM_CLASSES,
  PARAM_SHAPES,
  type ParamName,
  type Pooling,
} from './model';

/** One line of the {@link summary} table. */
export interface SummaryRow {
  /** 'Input', a layer name (C1 .. output), or 'softmax'. */
  layer: string;
  /** What the layer does, e.g. 'Conv2D 5x5 + tanh'. */
  type: string;
  /** NHWC or [n, features]; -1 stands for the batch size, as in torchsummary. */
  outputShape: number[];
  /** Trainable scalars in this layer (kernel + bias). */
  params: number;
}

// Shapes and parameter counts are derived from PARAM_SHAPES, so this table cannot drift from the model.
function paramCount(layer: string): number {
  return [`${layer}/kernel`, `${layer}/bias`]
    .filter((name): name is ParamName => name in PARAM_SHAPES)
    .reduce((total, name) => total + PARAM_SHAPES[name].reduce((a, b) => a * b, 1), 0);
}

/**
 * The model layer by layer, like torchsummary: an Input row, C1 .. output, then a parameter-free
 * softmax row (the model's `forward` returns logits; `predict` applies the softmax).
 * Activations are shown in the type of the layer they follow, as the seed applies them functionally.
 * Computed from the architecture alone: no backend or tensors needed.
 */
export function summary(options: LeNet5Options = {}): SummaryRow[] {
  const activation: Activation = options.activation ?? 'tanh';
  const pooling: Pooling = options.pooling ?? 'avg';
  const poolType = `${pooling === 'avg' ? 'AvgPool' : 'MaxPool'} 2x2/2`;

  let size = INPUT_SIZE;
  const conv = (layer: 'C1' | 'C3' | 'C5'): SummaryRow => {
    const [kh, , , out] = PARAM_SHAPES[`${layer}/kernel`];
    size = size - kh! + 1; // 'valid' padding, stride 1
    return {
      layer,
      type: `Conv2D ${kh}x${kh} + ${activation}`,
      outputShape: [-1, size, size, out!],
      params: paramCount(layer),
    };
  };
  const pool = (layer: 'S2' | 'S4', channels: number): SummaryRow => {
    size = Math.floor(size / 2);
    return { layer, type: poolType, outputShape: [-1, size, size, channels], params: 0 };
  };
  const dense = (layer: 'F6' | 'output', type: string): SummaryRow => {
    const out = PARAM_SHAPES[`${layer}/kernel`][1]!;
    return { layer, type, outputShape: [-1, out], params: paramCount(layer) };
  };

  const c1 = conv('C1');
  const s2 = pool('S2', c1.outputShape[3]!);
  const c3 = conv('C3');
  const s4 = pool('S4', c3.outputShape[3]!);
  const c5 = conv('C5');
  return [
    { layer: 'Input', type: 'Input', outputShape: [-1, INPUT_SIZE, INPUT_SIZE, 1], params: 0 },
    c1,
    s2,
    c3,
    s4,
    c5,
    dense('F6', `Flatten + Dense + ${activation}`),
    dense('output', 'Dense (logits)'),
    { layer: 'softmax', type: 'Softmax', outputShape: [-1, NUM_CLASSES], params: 0 },
  ];
}

const formatCount = (n: number): string => n.toLocaleString('en-US');
const formatShape = (shape: number[]): string => `[${shape.join(', ')}]`;

/**
 * A torchsummary-like text table of {@link summary} rows, ending with the
 * 'Total params: 61,706', 'Trainable params' and 'Non-trainable params' lines.
 */
export function formatSummary(rows: SummaryRow[]): string {
  const header = ['Layer (type)', 'Output Shape', 'Param #'] as const;
  const cells = rows.map((r) => [
    `${r.layer} (${r.type})`,
    formatShape(r.outputShape),
    formatCount(r.params),
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...cells.map((c) => c[col]!.length)));
  const line = (c: readonly string[]) =>
    `${c[0]!.padEnd(widths[0]!)}   ${c[1]!.padStart(widths[1]!)}   ${c[2]!.padStart(widths[2]!)}`;
  const width = widths.reduce((a, b) => a + b, 0) + 6;
  const total = rows.reduce((sum, r) => sum + r.params, 0);
  return [
    'Shapes are NHWC; -1 is the batch size.',
    '-'.repeat(width),
    line(header),
    '='.repeat(width),
    ...cells.map(line),
    '='.repeat(width),
    `Total params: ${formatCount(total)}`,
    `Trainable params: ${formatCount(total)}`,
    'Non-trainable params: 0',
    '-'.repeat(width),
  ].join('\n');
}

/**
 * The shape trace the seed's PyTorch forward() prints (`x_0 = ` .. `x_8 = `), adapted to tfjs' NHWC layout
 * (the seed's torch.Size is NCHW) with `n` for the batch size, and a note of what produced each tensor.
 * x_6 is the flatten (the seed's `x.view(-1, 120)`); x_8 is the logits before the softmax.
 */
export function shapeWalk(options: LeNet5Options = {}): string[] {
  const rows = summary(options);
  const row = (layer: string) => rows.find((r) => r.layer === layer)!;
  const steps: [number[], string][] = [
    [row('Input').outputShape, 'input'],
    [row('C1').outputShape, `C1 ${row('C1').type}`],
    [row('S2').outputShape, `S2 ${row('S2').type}`],
    [row('C3').outputShape, `C3 ${row('C3').type}`],
    [row('S4').outputShape, `S4 ${row('S4').type}`],
    [row('C5').outputShape, `C5 ${row('C5').type}`],
    [[-1, row('C5').outputShape[3]!], 'flatten'],
    [row('F6').outputShape, `F6 Dense + ${options.activation ?? 'tanh'}`],
    [row('output').outputShape, 'output Dense (logits)'],
  ];
  return steps.map(
    ([shape, what], i) => `x_${i} = [${shape.map((d) => (d === -1 ? 'n' : d)).join(', ')}]  ${what}`,
  );
}
