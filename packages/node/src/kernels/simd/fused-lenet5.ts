import {
  LENET5_GRADIENTS_KERNEL,
  LENET5_LOGITS_KERNEL,
  PARAM_NAMES,
  PARAM_SHAPES,
  type ParamName,
} from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset, type LenetSimdKernels, simdKernelsFor, TILE_BYTES, withScratch } from './simd-module';

/**
 * Images per pass through the layers. A batch runs in chunks of this size whose gradients are
 * summed, so that a chunk's feature maps stay in the core's L2 cache (batch 256 in one pass was
 * about 10% slower per image than batch 64).
 */
const CHUNK = 64;

const PARAM_SIZES = PARAM_NAMES.map((name) => PARAM_SHAPES[name].reduce((a, b) => a * b, 1));

/** Scratch buffers, in floats, for chunks of `n` images (dense layers padded to 8 columns). */
function bufferSizes(n: number) {
  return {
    tile: TILE_BYTES / 4,
    // padded or transposed weights and bias patterns, made once per call
    w6: 120 * 88,
    wOut: 84 * 16,
    bias1: 12,
    bias6: 88,
    biasOut: 16,
    wOutT: 10 * 88,
    w6T: 84 * 120,
    w5T: 120 * 400,
    w3Rows: 5 * 16 * 32,
    // forward
    a1: n * 28 * 28 * 6, // C1 after tanh
    a1Overrun: 4, // avgPoolTanhGradientPadded reads 8 floats of a1's last pixel
    p2: n * 14 * 14 * 6,
    cols3: n * 100 * 150, // C3's patches; later reused for S2's gradient
    a3: n * 100 * 16,
    p4: n * 400,
    a5: n * 120,
    a6: n * 88,
    logits: n * 16,
    // backward
    dLogits: n * 16,
    d6: n * 88,
    d5: n * 120,
    dp4: n * 400,
    d3: n * 100 * 16,
    d1Padded: n * 28 * 28 * 8,
    sums: 152 * 16, // conv2dFilterGradient's row sums (rows of w rounded up to 4, by padded channels)
    dWOut: 84 * 16,
    dW6: 120 * 88,
    dBias: 88,
    chunkGradients: PARAM_SIZES.reduce((a, b) => a + b + 4, 0), // a later chunk's, before they are summed
  };
}

type Buffers = Record<keyof ReturnType<typeof bufferSizes>, number>;

/** What one chunk's pass works on: byte offsets in the heap, and its float view. */
interface Pass {
  k: LenetSimdKernels;
  f32: Float32Array;
  at: Buffers;
  w: (name: ParamName) => number;
}

/** Padded copies of the weights and biases that the forward pass takes. */
function prepareForwardWeights({ k, f32, at, w }: Pass): void {
  k.padRows(w('F6/kernel'), at.w6, 120, 84, 88);
  k.padRows(w('output/kernel'), at.wOut, 84, 10, 16);
  const b1 = w('C1/bias') >> 2;
  for (let i = 0; i < 12; i++) f32[(at.bias1 >> 2) + i] = f32[b1 + (i % 6)]!; // 6 values repeated to 12
  k.padRows(w('F6/bias'), at.bias6, 1, 84, 88);
  k.padRows(w('output/bias'), at.biasOut, 1, 10, 16);
}

/** Transposed copies of the weights that the backward pass takes. */
function prepareBackwardWeights({ k, w, at }: Pass): void {
  k.transposePadded(w('output/kernel'), at.wOutT, 84, 10, 88);
  k.transposePadded(w('F6/kernel'), at.w6T, 120, 84, 120);
  k.transposePadded(w('C5/kernel'), at.w5T, 400, 120, 400);
  k.filterRowsByOutput(w('C3/kernel'), at.w3Rows, 5, 5, 6, 16, 32);
}

/** Forward pass of `n` images at byte offset `x`: every layer's output in `at`, the logits in `at.logits` ([n, 16], padded). */
function forwardChunk({ k, at, w }: Pass, x: number, n: number): void {
  // Every tanh runs in one pass with its bias.
  k.conv2dForwardOneChannel(x, w('C1/kernel'), at.a1, n, 32, 32, 1, 28, 28, 6, 5, 5);
  k.addRepeating(at.a1, at.bias1, at.a1, n * 4704, 12, true);
  k.avgPoolTiled(at.a1, at.p2, n, 28, 28, 14, 14, 6, 2, 2);
  k.patches(at.p2, at.cols3, n, 14, 14, 6, 5, 5);
  k.matmul(at.cols3, 600, 4, w('C3/kernel'), at.a3, n * 100, 150, 16, at.tile);
  k.addRepeating(at.a3, w('C3/bias'), at.a3, n * 1600, 16, true);
  k.avgPoolTiled(at.a3, at.p4, n, 10, 10, 5, 5, 16, 2, 2);
  k.matmul(at.p4, 1600, 4, w('C5/kernel'), at.a5, n, 400, 120, at.tile);
  k.addRepeating(at.a5, w('C5/bias'), at.a5, n * 120, 120, true);
  k.matmul(at.a5, 480, 4, at.w6, at.a6, n, 120, 88, at.tile);
  k.addRepeating(at.a6, at.bias6, at.a6, n * 88, 88, true);
  k.matmul(at.a6, 352, 4, at.wOut, at.logits, n, 84, 16, at.tile);
  k.addRepeating(at.logits, at.biasOut, at.logits, n * 16, 16, false);
}

/**
 * Backward through a dense layer z = a · W + b of `n` rows whose z has `outputs` columns padded to
 * `dzCols`: dW = aᵀ · dz (a read transposed in place, rows `aCols` floats apart) and db = Σ rows of
 * dz, unpadded into the gradients gW and gB, then da = dz · Wᵀ from the padded transpose wT.
 */
function denseBackward(
  { k, at }: Pass,
  n: number,
  layer: { a: number; inputs: number; aCols: number; dz: number; outputs: number; dzCols: number },
  into: { dW: number; gW: number; gB: number; wT: number; da: number; daCols: number },
): void {
  const { a, inputs, aCols, dz, outputs, dzCols } = layer;
  k.matmul(a, 4, aCols * 4, dz, into.dW, inputs, n, dzCols, at.tile);
  k.unpadRows(into.dW, into.gW, inputs, dzCols, outputs);
  k.sumRows(dz, at.dBias, n, dzCols);
  k.unpadRows(at.dBias, into.gB, 1, dzCols, outputs);
  k.matmul(dz, dzCols * 4, 4, into.wT, into.da, n, outputs, into.daCols, at.tile);
}

/**
 * Forward and backward pass of `n` images at byte offset `x` with class ids at `labels`; writes
 * each gradient (of the mean loss over `batch` images) to `g(i)` and returns the chunk's summed loss.
 */
function passChunk(
  pass: Pass,
  x: number,
  labels: number,
  n: number,
  batch: number,
  g: (i: number) => number,
) {
  const { k, f32, at } = pass;
  forwardChunk(pass, x, n);

  // Softmax cross-entropy and its gradient (probabilities - one-hot) / batch, row by row
  // (10 values each, not worth a kernel). Labels outside 0-9 match no class, as in crossEntropy.
  const ids = new Int32Array(f32.buffer, labels, n);
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const z = (at.logits >> 2) + r * 16;
    const dz = (at.dLogits >> 2) + r * 16;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < 10; c++) max = Math.max(max, f32[z + c]!);
    let exps = 0;
    for (let c = 0; c < 10; c++) exps += Math.exp(f32[z + c]! - max);
    const logSum = Math.log(exps);
    for (let c = 0; c < 10; c++) {
      const logProbability = f32[z + c]! - max - logSum;
      if (c === ids[r]) loss -= logProbability;
      f32[dz + c] = (Math.exp(logProbability) - (c === ids[r] ? 1 : 0)) / batch;
    }
    f32.fill(0, dz + 10, dz + 16);
  }

  // The output layer and F6, whose outputs are padded to 8 columns.
  denseBackward(
    pass,
    n,
    { a: at.a6, inputs: 84, aCols: 88, dz: at.dLogits, outputs: 10, dzCols: 16 },
    {
      dW: at.dWOut,
      gW: g(8),
      gB: g(9),
      wT: at.wOutT,
      da: at.d6,
      daCols: 88,
    },
  );
  k.tanhGradient(at.a6, at.d6, at.d6, n * 88);
  denseBackward(
    pass,
    n,
    { a: at.a5, inputs: 120, aCols: 120, dz: at.d6, outputs: 84, dzCols: 88 },
    {
      dW: at.dW6,
      gW: g(6),
      gB: g(7),
      wT: at.w6T,
      da: at.d5,
      daCols: 120,
    },
  );
  k.tanhGradient(at.a5, at.d5, at.d5, n * 120);

  k.matmul(at.p4, 4, 1600, at.d5, g(4), 400, n, 120, at.tile);
  k.sumRows(at.d5, g(5), n, 120);
  k.matmul(at.d5, 480, 4, at.w5T, at.dp4, n, 120, 400, at.tile);

  // S4 and C3.
  k.avgPoolGradTiled(at.dp4, at.d3, n, 10, 10, 5, 5, 16, 2, 2);
  k.tanhGradient(at.a3, at.d3, at.d3, n * 1600);
  k.conv2dFilterGradient(at.p2, at.d3, g(2), at.sums, n, 14, 14, 6, 10, 10, 16, 16, 5, 150);
  k.sumRows(at.d3, g(3), n * 100, 16);
  const dp2 = at.cols3; // the patches are no longer needed; room for dx and its overrun
  k.conv2dInputGradient(at.d3, at.w3Rows, dp2, n, 14, 14, 6, 10, 10, 16, 5, 32);

  // S2 and C1 (whose input needs no gradient); dz1 padded to 8 channels for the filter gradient.
  k.avgPoolTanhGradientPadded(dp2, at.a1, at.d1Padded, n, 14, 14, 6, 2);
  k.sumRows(at.d1Padded, at.dBias, n * 784, 8);
  k.unpadRows(at.dBias, g(1), 1, 8, 6);
  k.conv2dFilterGradient(x, at.d1Padded, g(0), at.sums, n, 32, 32, 1, 28, 28, 6, 8, 5, 25);
  return loss;
}

/** Runs `use` with the scratch buffers for chunks of up to `chunk` images, freed afterwards. */
function withPass<T>(
  kernels: LenetSimdKernels,
  backend: BackendWasm,
  params: Record<ParamName, TensorInfo>,
  chunk: number,
  use: (pass: Pass) => T,
): T {
  const sizes = bufferSizes(chunk);
  const total = Object.values(sizes).reduce((s, n) => s + Math.ceil(n / 4) * 4, 0);
  return withScratch(backend, total * 4, (scratch) => {
    // Every buffer 16-byte aligned (the backend's malloc aligns to at least 16).
    const at = {} as Buffers;
    let next = scratch;
    for (const [name, n] of Object.entries(sizes)) {
      at[name as keyof Buffers] = next;
      next += Math.ceil(n / 4) * 16;
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

/**
 * Loss and gradients of the reference LeNet-5 (tanh, average pooling) on the wasm backend in one
 * call: the forward pass, softmax cross-entropy and the backward pass run straight on the heap in
 * our SIMD kernels, with no tfjs op, tape or intermediate tensor per layer. Returns
 * [mean loss, ...gradients in PARAM_NAMES order].
 */
function lenet5Gradients(
  kernels: LenetSimdKernels,
  backend: BackendWasm,
  x: TensorInfo,
  labels: TensorInfo,
  params: Record<ParamName, TensorInfo>,
): TensorInfo[] {
  const batch = x.shape[0]!;
  const loss = backend.makeOutput([], 'float32');
  const grads = PARAM_NAMES.map((name) => backend.makeOutput(params[name].shape, 'float32'));
  withPass(kernels, backend, params, Math.min(batch, CHUNK), (pass) => {
    const chunkGradients: number[] = [];
    for (let i = 0, offset = pass.at.chunkGradients; i < PARAM_SIZES.length; i++) {
      chunkGradients.push(offset);
      offset += Math.ceil(PARAM_SIZES[i]! / 4) * 16;
    }
    prepareForwardWeights(pass);
    prepareBackwardWeights(pass);
    let lossSum = 0;
    for (let start = 0; start < batch; start += CHUNK) {
      const n = Math.min(CHUNK, batch - start);
      const first = start === 0;
      const target = (i: number) => (first ? heapOffset(backend, grads[i]!) : chunkGradients[i]!);
      const images = heapOffset(backend, x) + start * 1024 * 4;
      lossSum += passChunk(pass, images, heapOffset(backend, labels) + start * 4, n, batch, target);
      if (!first) {
        for (let i = 0; i < PARAM_SIZES.length; i++) {
          kernels.accumulate(chunkGradients[i]!, heapOffset(backend, grads[i]!), PARAM_SIZES[i]!);
        }
      }
    }
    pass.f32[heapOffset(backend, loss) >> 2] = lossSum / batch;
  });
  return [loss, ...grads];
}

/** The reference LeNet-5's logits [n, 10], the forward pass alone, in chunks as above. */
function lenet5Logits(
  kernels: LenetSimdKernels,
  backend: BackendWasm,
  x: TensorInfo,
  params: Record<ParamName, TensorInfo>,
): TensorInfo {
  const batch = x.shape[0]!;
  const logits = backend.makeOutput([batch, 10], 'float32');
  withPass(kernels, backend, params, Math.min(batch, CHUNK), (pass) => {
    prepareForwardWeights(pass);
    for (let start = 0; start < batch; start += CHUNK) {
      const n = Math.min(CHUNK, batch - start);
      forwardChunk(pass, heapOffset(backend, x) + start * 1024 * 4, n);
      kernels.unpadRows(pass.at.logits, heapOffset(backend, logits) + start * 10 * 4, n, 16, 10);
    }
  });
  return logits;
}

/** Our SIMD kernels on `backend`, or a clear error where they cannot reach its memory. */
function requireKernels(backend: BackendWasm, kernelName: string): LenetSimdKernels {
  const kernels = simdKernelsFor(backend);
  if (kernels == null) {
    throw new Error(
      `${kernelName} needs the wasm backend's own memory, which a threaded wasm build does not export. ` +
        'Use the single-threaded wasm backend (the default under Node).',
    );
  }
  return kernels;
}

/**
 * `LeNet5Gradients` ({@link LENET5_GRADIENTS_KERNEL}) on the wasm backend. Registered only where
 * WebAssembly SIMD runs.
 */
export const wasmLenet5Gradients: KernelConfig = {
  kernelName: LENET5_GRADIENTS_KERNEL,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: { inputs: Record<string, TensorInfo>; backend: BackendWasm }) => {
    const { x, labels } = inputs as { x: TensorInfo; labels: TensorInfo };
    const kernels = requireKernels(backend, LENET5_GRADIENTS_KERNEL);
    return lenet5Gradients(kernels, backend, x, labels, inputs as Record<ParamName, TensorInfo>);
  }) as unknown as KernelFunc,
};

/**
 * `LeNet5Logits` ({@link LENET5_LOGITS_KERNEL}) on the wasm backend. Registered only where
 * WebAssembly SIMD runs.
 */
export const wasmLenet5Logits: KernelConfig = {
  kernelName: LENET5_LOGITS_KERNEL,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: { inputs: Record<string, TensorInfo>; backend: BackendWasm }) => {
    const kernels = requireKernels(backend, LENET5_LOGITS_KERNEL);
    return lenet5Logits(kernels, backend, inputs.x!, inputs as Record<ParamName, TensorInfo>);
  }) as unknown as KernelFunc,
};
