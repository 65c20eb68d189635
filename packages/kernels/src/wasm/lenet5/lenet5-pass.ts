// The reference LeNet-5's forward and backward pass straight on the wasm heap, in our SIMD kernels:
// no tfjs op, tape or intermediate tensor per layer. Sizes come from ../../lenet5/dimensions (its legend names
// every map); pointers are byte offsets, every size and scratch length is in floats.
import { PARAM_NAMES, PARAM_SHAPES, type ParamName } from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { LENET5 as D, floatsOf, roundUp } from '../../lenet5/dimensions';
import type { LenetWasmExports } from '../wasm-exports.generated';
import { type ConvolutionSizes, floatsAfter, heapOffset, TILE_FLOATS, withScratch } from '../wasm-module';

/**
 * Images per pass through the layers. A batch runs in chunks of this size whose gradients are
 * summed, so that a chunk's feature maps stay in the core's L2 cache.
 */
export const CHUNK = 64;

/** Floats in each parameter (and in its gradient). */
export const PARAM_FLOATS = Object.fromEntries(
  PARAM_NAMES.map((name) => [name, PARAM_SHAPES[name].reduce((a, b) => a * b, 1)]),
) as Record<ParamName, number>;

/** conv2dFilterGradient's row sums: rows of dW rounded up to 4, by padded output channels. */
const filterGradientSums = (rowsOfW: number, paddedChannels: number) => roundUp(rowsOfW, 4) * paddedChannels;

/** Scratch buffers, in floats, for chunks of `n` images. */
function bufferSizes(n: number) {
  const { a1, p2, a3, p4, kernel } = D;
  return {
    tile: TILE_FLOATS,
    // Padded or transposed weights and repeated biases, made once per call.
    w6: D.c5Units * D.f6Padded,
    wOut: D.f6Units * D.classesPadded,
    bias1: D.c1BiasPeriod,
    bias6: D.f6Padded,
    biasOut: D.classesPadded,
    wOutT: D.classes * D.f6Padded,
    w6T: D.f6Units * D.c5Units,
    w5T: D.c5Units * D.c5Inputs,
    w3Rows: kernel * a3.c * D.c3FilterRun,
    // Forward.
    a1: n * floatsOf(a1),
    a1Overrun: 8 - a1.c, // avgPoolTanhGradientPlanar reads 8 floats of a1's last pixel
    p2: n * floatsOf(p2),
    // S2's gradient, with room for one filter run past its end (conv2dInputGradient).
    dp2: n * floatsOf(p2) + D.c3FilterRun,
    a3: n * floatsOf(a3),
    p4: n * floatsOf(p4),
    a5: n * D.c5Units,
    a6: n * D.f6Padded,
    logits: n * D.classesPadded,
    // Backward.
    dLogits: n * D.classesPadded,
    d6: n * D.f6Padded,
    d5: n * D.c5Units,
    dp4: n * floatsOf(p4),
    d3: n * floatsOf(a3),
    d1Planar: n * floatsOf(a1),
    sums: Math.max(filterGradientSums(D.c3Patch, a3.c), D.c1FilterGradientSums),
    dWOut: D.f6Units * D.classesPadded,
    dW6: D.c5Units * D.f6Padded,
    dBias: D.f6Padded,
    // A later chunk's gradients, before they are summed into the first's; each 4-aligned.
    chunkGradients: PARAM_NAMES.reduce((sum, name) => sum + roundUp(PARAM_FLOATS[name], 4), 0),
  };
}

type Buffers = Record<keyof ReturnType<typeof bufferSizes>, number>;

/** What one chunk's pass works on: the kernels, the heap as floats, the buffers, and the weights by name. */
export interface Pass {
  k: LenetWasmExports;
  f32: Float32Array;
  at: Buffers;
  w: (name: ParamName) => number;
}

/** C3's sizes for `n` images, in the order the convolution kernels take them: S2's map in, C3's out. */
function c3Sizes(n: number): ConvolutionSizes {
  return [n, D.p2.h, D.p2.w, D.p2.c, D.a3.h, D.a3.w, D.a3.c];
}

/** Padded copies of the weights and biases that the forward pass takes. */
export function prepareForwardWeights({ k, f32, at, w }: Pass): void {
  k.padRows(w('F6/kernel'), at.w6, D.c5Units, D.f6Units, D.f6Padded);
  k.padRows(w('output/kernel'), at.wOut, D.f6Units, D.classes, D.classesPadded);
  const b1 = w('C1/bias') / 4;
  const bias1 = at.bias1 / 4;
  for (let i = 0; i < D.c1BiasPeriod; i++) f32[bias1 + i] = f32[b1 + (i % D.a1.c)]!;
  k.padRows(w('F6/bias'), at.bias6, 1, D.f6Units, D.f6Padded);
  k.padRows(w('output/bias'), at.biasOut, 1, D.classes, D.classesPadded);
}

/** Transposed copies of the weights that the backward pass takes. */
export function prepareBackwardWeights({ k, w, at }: Pass): void {
  k.transposePadded(w('output/kernel'), at.wOutT, D.f6Units, D.classes, D.f6Padded);
  k.transposePadded(w('F6/kernel'), at.w6T, D.c5Units, D.f6Units, D.c5Units);
  k.transposePadded(w('C5/kernel'), at.w5T, D.c5Inputs, D.c5Units, D.c5Inputs);
  k.filterRowsByOutput(w('C3/kernel'), at.w3Rows, D.kernel, D.kernel, D.p2.c, D.a3.c, D.c3FilterRun);
}

/** Forward pass of `n` images at `x`: every layer's output in `at`, the logits in `at.logits` (padded rows). */
export function forwardChunk({ k, at, w }: Pass, x: number, n: number): void {
  const { a1, a3, p4, kernel, pool } = D;
  // Every tanh runs in one pass with its bias.
  k.conv2dForwardOneChannel(
    x,
    w('C1/kernel'),
    at.a1,
    n,
    D.x.h,
    D.x.w,
    D.x.c,
    a1.h,
    a1.w,
    a1.c,
    kernel,
    kernel,
  );
  k.biasTanhAvgPool2x2(at.a1, at.bias1, at.p2, n, a1.h, a1.w, a1.c);
  k.conv2dForwardTanh(at.p2, w('C3/kernel'), w('C3/bias'), at.a3, ...c3Sizes(n), kernel, kernel);
  k.avgPoolTiled(at.a3, at.p4, n, a3.h, a3.w, p4.h, p4.w, p4.c, pool, pool);
  k.matmul(at.p4, D.c5Inputs, 1, w('C5/kernel'), at.a5, n, D.c5Inputs, D.c5Units, at.tile);
  k.addRepeating(at.a5, w('C5/bias'), at.a5, n * D.c5Units, D.c5Units, true);
  k.matmul(at.a5, D.c5Units, 1, at.w6, at.a6, n, D.c5Units, D.f6Padded, at.tile);
  k.addRepeating(at.a6, at.bias6, at.a6, n * D.f6Padded, D.f6Padded, true);
  k.matmul(at.a6, D.f6Padded, 1, at.wOut, at.logits, n, D.f6Units, D.classesPadded, at.tile);
  k.addRepeating(at.logits, at.biasOut, at.logits, n * D.classesPadded, D.classesPadded, false);
}

/** A dense layer z = a · W + b of `n` rows, seen from its backward pass. */
interface DenseLayer {
  /** Its input, rows `aCols` floats apart, and its width. */
  a: number;
  aCols: number;
  inputs: number;
  /** The gradient of its output, rows `dzCols` floats apart, and its width. */
  dz: number;
  dzCols: number;
  outputs: number;
  /** Its parameters. */
  kernel: ParamName;
  bias: ParamName;
  /** Its kernel transposed and padded, and where the gradient of its input goes (rows `daCols` apart). */
  wT: number;
  dW: number;
  da: number;
  daCols: number;
}

/** dW = aᵀ · dz (a read transposed in place) and db = Σ rows of dz, unpadded into the gradients; then da = dz · Wᵀ. */
function denseBackward({ k, at }: Pass, n: number, layer: DenseLayer, g: (name: ParamName) => number): void {
  const { a, aCols, inputs, dz, dzCols, outputs } = layer;
  k.matmul(a, 1, aCols, dz, layer.dW, inputs, n, dzCols, at.tile);
  k.unpadRows(layer.dW, g(layer.kernel), inputs, dzCols, outputs);
  k.sumRows(dz, at.dBias, n, dzCols);
  k.unpadRows(at.dBias, g(layer.bias), 1, dzCols, outputs);
  k.matmul(dz, dzCols, 1, layer.wT, layer.da, n, outputs, layer.daCols, at.tile);
}

/**
 * Softmax cross-entropy of the chunk's logits and its gradient (probabilities - one-hot) / batch,
 * row by row (10 values each, not worth a kernel). Labels outside the classes match none, as in
 * crossEntropy. Returns the chunk's summed loss.
 */
function softmaxCrossEntropy({ f32, at }: Pass, labels: number, n: number, batch: number): number {
  const ids = new Int32Array(f32.buffer, labels, n);
  const { classes, classesPadded } = D;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const z = at.logits / 4 + r * classesPadded;
    const dz = at.dLogits / 4 + r * classesPadded;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, f32[z + c]!);
    let exps = 0;
    for (let c = 0; c < classes; c++) exps += Math.exp(f32[z + c]! - max);
    const logSum = Math.log(exps);
    for (let c = 0; c < classes; c++) {
      const logProbability = f32[z + c]! - max - logSum;
      if (c === ids[r]) loss -= logProbability;
      f32[dz + c] = (Math.exp(logProbability) - (c === ids[r] ? 1 : 0)) / batch;
    }
    f32.fill(0, dz + classes, dz + classesPadded);
  }
  return loss;
}

/**
 * Forward and backward pass of `n` images at `x` with class ids at `labels`; writes the gradient of
 * the mean loss over `batch` images for each parameter to `g(name)` and returns the chunk's summed loss.
 */
export function passChunk(
  pass: Pass,
  x: number,
  labels: number,
  n: number,
  batch: number,
  g: (name: ParamName) => number,
): number {
  const { k, at } = pass;
  const { a1, p2, a3, p4, kernel, pool } = D;
  forwardChunk(pass, x, n);
  const loss = softmaxCrossEntropy(pass, labels, n, batch);

  // The output layer and F6, whose outputs are padded.
  denseBackward(
    pass,
    n,
    {
      a: at.a6,
      aCols: D.f6Padded,
      inputs: D.f6Units,
      dz: at.dLogits,
      dzCols: D.classesPadded,
      outputs: D.classes,
      kernel: 'output/kernel',
      bias: 'output/bias',
      wT: at.wOutT,
      dW: at.dWOut,
      da: at.d6,
      daCols: D.f6Padded,
    },
    g,
  );
  k.tanhGradient(at.a6, at.d6, at.d6, n * D.f6Padded);
  denseBackward(
    pass,
    n,
    {
      a: at.a5,
      aCols: D.c5Units,
      inputs: D.c5Units,
      dz: at.d6,
      dzCols: D.f6Padded,
      outputs: D.f6Units,
      kernel: 'F6/kernel',
      bias: 'F6/bias',
      wT: at.w6T,
      dW: at.dW6,
      da: at.d5,
      daCols: D.c5Units,
    },
    g,
  );
  k.tanhGradient(at.a5, at.d5, at.d5, n * D.c5Units);

  // C5, a dense layer on S4's flat map, whose outputs are not padded.
  k.matmul(at.p4, 1, D.c5Inputs, at.d5, g('C5/kernel'), D.c5Inputs, n, D.c5Units, at.tile);
  k.sumRows(at.d5, g('C5/bias'), n, D.c5Units);
  k.matmul(at.d5, D.c5Units, 1, at.w5T, at.dp4, n, D.c5Units, D.c5Inputs, at.tile);

  // S4 and C3.
  k.avgPoolGradTiled(at.dp4, at.d3, n, a3.h, a3.w, p4.h, p4.w, p4.c, pool, pool);
  k.tanhGradient(at.a3, at.d3, at.d3, n * floatsOf(a3));
  // a3's gradient needs no padding: its channels fill whole passes (checked in ./dimensions).
  k.conv2dFilterGradient(at.p2, at.d3, g('C3/kernel'), at.sums, ...c3Sizes(n), a3.c, kernel, D.c3Patch);
  k.sumRows(at.d3, g('C3/bias'), n * a3.h * a3.w, a3.c);
  k.conv2dInputGradient(at.d3, at.w3Rows, at.dp2, ...c3Sizes(n), kernel, D.c3FilterRun);

  // S2 and C1 (whose input needs no gradient); C1's output gradient planar for its filter gradient.
  k.avgPoolTanhGradientPlanar(at.dp2, at.a1, at.d1Planar, n, p2.h, p2.w, p2.c);
  k.sumPlanes(at.d1Planar, g('C1/bias'), n, a1.c, a1.h * a1.w);
  k.conv2dFilterGradientOneChannel(
    x,
    at.d1Planar,
    g('C1/kernel'),
    at.sums,
    n,
    D.x.h,
    D.x.w,
    a1.h,
    a1.w,
    a1.c,
    kernel,
    kernel,
  );
  return loss;
}

/** Runs `use` with the scratch buffers for chunks of up to `chunk` images, freed afterwards. */
export function withPass<T>(
  kernels: LenetWasmExports,
  backend: BackendWasm,
  params: Record<ParamName, TensorInfo>,
  chunk: number,
  use: (pass: Pass) => T,
): T {
  const sizes = bufferSizes(chunk);
  // Every buffer 16-byte aligned (the backend's malloc aligns to at least 16).
  const total = Object.values(sizes).reduce((sum, floats) => sum + roundUp(floats, 4), 0);
  return withScratch(backend, total, (scratch) => {
    const at = {} as Buffers;
    let next = scratch;
    for (const [name, floats] of Object.entries(sizes)) {
      at[name as keyof Buffers] = next;
      next = floatsAfter(next, roundUp(floats, 4));
    }
    const memory = (backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
    return use({
      k: kernels,
      f32: new Float32Array(memory.buffer), // after every allocation: a growing heap detaches old views
      at,
      w: (name) => heapOffset(backend, params[name]),
    });
  });
}

/** Where each parameter's gradient of a later chunk goes in `at.chunkGradients`, before it is summed. */
export function chunkGradientOffsets(at: Buffers): Record<ParamName, number> {
  const offsets = {} as Record<ParamName, number>;
  let next = at.chunkGradients;
  for (const name of PARAM_NAMES) {
    offsets[name] = next;
    next = floatsAfter(next, roundUp(PARAM_FLOATS[name], 4));
  }
  return offsets;
}
