import { LENET5_GRADIENTS_KERNEL, PARAM_NAMES, type ParamName } from '@lenet/ops';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset, type LenetSimdKernels, simdKernelsFor, TILE_BYTES, withScratch } from './simd-module';

/** Sizes of one step's buffers, in floats, for a batch of `b` (dense layers padded to 8 columns). */
function bufferSizes(b: number) {
  return {
    tile: TILE_BYTES / 4,
    a1: b * 28 * 28 * 6, // C1 after tanh
    p2: b * 14 * 14 * 6,
    cols3: b * 100 * 150, // C3's patches; later reused for S2's gradient
    a3: b * 100 * 16,
    p4: b * 400,
    a5: b * 120,
    a6: b * 88,
    logits: b * 16,
    // gradients
    dLogits: b * 16,
    d6: b * 88,
    d5: b * 120,
    dp4: b * 400,
    d3: b * 100 * 16,
    d1: b * 28 * 28 * 6,
    d1Padded: b * 28 * 28 * 8,
    // padded or transposed weights and bias patterns
    w6: 120 * 88,
    wOut: 84 * 16,
    bias1: 12,
    bias6: 88,
    biasOut: 16,
    wOutT: 10 * 88,
    w6T: 84 * 120,
    w5T: 120 * 400,
    w3Rows: 5 * 16 * 32,
    sums: 152 * 16, // conv2dFilterGradient's row sums (rows of w rounded up to 4, by padded channels)
    dWOut: 84 * 16,
    dW6: 120 * 88,
    dBias: 88,
  };
}

/**
 * Loss and gradients of the reference LeNet-5 (tanh, average pooling) on the wasm backend in one
 * call: the forward pass, softmax cross-entropy and the backward pass run straight on the heap in
 * our SIMD kernels, with no tfjs op, tape or intermediate tensor per layer. Returns
 * [loss, ...gradients in PARAM_NAMES order].
 */
function lenet5Gradients(
  kernels: LenetSimdKernels,
  backend: BackendWasm,
  x: TensorInfo,
  labels: TensorInfo,
  params: Record<ParamName, TensorInfo>,
): TensorInfo[] {
  const b = x.shape[0]!;
  const sizes = bufferSizes(b);
  const total = Object.values(sizes).reduce((s, n) => s + n, 0);
  const loss = backend.makeOutput([], 'float32');
  const grads = PARAM_NAMES.map((name) => backend.makeOutput(params[name].shape, 'float32'));
  withScratch(backend, total * 4 + 64, (scratch) => {
    const at = {} as Record<keyof typeof sizes, number>;
    let next = scratch;
    for (const [name, n] of Object.entries(sizes)) {
      at[name as keyof typeof sizes] = next;
      next += Math.ceil(n / 4) * 16; // keep every buffer 16-byte aligned
    }
    const memory = (backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
    const f32 = new Float32Array(memory.buffer);
    const w = (name: ParamName) => heapOffset(backend, params[name]);
    const g = (i: number) => heapOffset(backend, grads[i]!);
    const k = kernels;

    // Padded weights and bias patterns.
    k.padRows(w('F6/kernel'), at.w6, 120, 84, 88);
    k.padRows(w('output/kernel'), at.wOut, 84, 10, 16);
    const b1 = w('C1/bias') >> 2;
    for (let i = 0; i < 12; i++) f32[(at.bias1 >> 2) + i] = f32[b1 + (i % 6)]!;
    f32.fill(0, at.bias6 >> 2, (at.bias6 >> 2) + 88);
    f32.set(f32.subarray(w('F6/bias') >> 2, (w('F6/bias') >> 2) + 84), at.bias6 >> 2);
    f32.fill(0, at.biasOut >> 2, (at.biasOut >> 2) + 16);
    f32.set(f32.subarray(w('output/bias') >> 2, (w('output/bias') >> 2) + 10), at.biasOut >> 2);

    // Forward.
    k.conv2dForwardOneChannel(heapOffset(backend, x), w('C1/kernel'), at.a1, b, 32, 32, 1, 28, 28, 6, 5, 5);
    k.addRepeatingTanh(at.a1, at.bias1, at.a1, b * 4704, 12);
    k.avgPoolTiled(at.a1, at.p2, b, 28, 28, 14, 14, 6, 2, 2);
    k.patches(at.p2, at.cols3, b, 14, 14, 6, 5, 5);
    k.matmul(at.cols3, 600, 4, w('C3/kernel'), at.a3, b * 100, 150, 16, at.tile);
    k.addRepeatingTanh(at.a3, w('C3/bias'), at.a3, b * 1600, 16);
    k.avgPoolTiled(at.a3, at.p4, b, 10, 10, 5, 5, 16, 2, 2);
    k.matmul(at.p4, 1600, 4, w('C5/kernel'), at.a5, b, 400, 120, at.tile);
    k.addRepeatingTanh(at.a5, w('C5/bias'), at.a5, b * 120, 120);
    k.matmul(at.a5, 480, 4, at.w6, at.a6, b, 120, 88, at.tile);
    k.addRepeatingTanh(at.a6, at.bias6, at.a6, b * 88, 88);
    k.matmul(at.a6, 352, 4, at.wOut, at.logits, b, 84, 16, at.tile);
    k.addRepeating(at.logits, at.biasOut, at.logits, b * 16, 16);

    // Softmax cross-entropy, mean over the batch, and its gradient (probabilities - one-hot) / b.
    const ids = new Int32Array(memory.buffer, heapOffset(backend, labels), b);
    let sum = 0;
    for (let r = 0; r < b; r++) {
      const z = (at.logits >> 2) + r * 16;
      const dz = (at.dLogits >> 2) + r * 16;
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < 10; c++) max = Math.max(max, f32[z + c]!);
      let exps = 0;
      for (let c = 0; c < 10; c++) exps += Math.exp(f32[z + c]! - max);
      const logSum = Math.log(exps);
      const label = ids[r]!;
      for (let c = 0; c < 10; c++) {
        const logProb = f32[z + c]! - max - logSum;
        if (c === label) sum -= logProb;
        f32[dz + c] = (Math.exp(logProb) - (c === label ? 1 : 0)) / b;
      }
      for (let c = 10; c < 16; c++) f32[dz + c] = 0;
    }
    f32[heapOffset(backend, loss) >> 2] = sum / b;

    // Backward, dense layers: dW = aᵀ · dz (a read transposed in place), da = dz · Wᵀ.
    k.matmul(at.a6, 4, 352, at.dLogits, at.dWOut, 84, b, 16, at.tile);
    k.unpadRows(at.dWOut, g(8), 84, 16, 10);
    k.sumRows(at.dLogits, at.dBias, b, 16);
    f32.copyWithin(g(9) >> 2, at.dBias >> 2, (at.dBias >> 2) + 10);
    k.transposePadded(w('output/kernel'), at.wOutT, 84, 10, 88);
    k.matmul(at.dLogits, 64, 4, at.wOutT, at.d6, b, 10, 88, at.tile);
    k.tanhGradient(at.a6, at.d6, at.d6, b * 88);

    k.matmul(at.a5, 4, 480, at.d6, at.dW6, 120, b, 88, at.tile);
    k.unpadRows(at.dW6, g(6), 120, 88, 84);
    k.sumRows(at.d6, at.dBias, b, 88);
    f32.copyWithin(g(7) >> 2, at.dBias >> 2, (at.dBias >> 2) + 84);
    k.transposePadded(w('F6/kernel'), at.w6T, 120, 84, 120);
    k.matmul(at.d6, 352, 4, at.w6T, at.d5, b, 84, 120, at.tile);
    k.tanhGradient(at.a5, at.d5, at.d5, b * 120);

    k.matmul(at.p4, 4, 1600, at.d5, g(4), 400, b, 120, at.tile);
    k.sumRows(at.d5, g(5), b, 120);
    k.transposePadded(w('C5/kernel'), at.w5T, 400, 120, 400);
    k.matmul(at.d5, 480, 4, at.w5T, at.dp4, b, 120, 400, at.tile);

    // Backward, S4 and C3.
    k.avgPoolGradTiled(at.dp4, at.d3, b, 10, 10, 5, 5, 16, 2, 2);
    k.tanhGradient(at.a3, at.d3, at.d3, b * 1600);
    k.conv2dFilterGradient(at.p2, at.d3, g(2), at.sums, b, 14, 14, 6, 10, 10, 16, 16, 5, 150);
    k.sumRows(at.d3, g(3), b * 100, 16);
    k.filterRowsByOutput(w('C3/kernel'), at.w3Rows, 5, 5, 6, 16, 32);
    const dp2 = at.cols3; // the patches are no longer needed; room for dx plus its overrun
    k.conv2dInputGradient(at.d3, at.w3Rows, dp2, b, 14, 14, 6, 10, 10, 16, 5, 32);

    // Backward, S2 and C1 (whose input needs no gradient).
    k.avgPoolGradTiled(dp2, at.d1, b, 28, 28, 14, 14, 6, 2, 2);
    k.tanhGradient(at.a1, at.d1, at.d1, b * 4704);
    k.sumRows(at.d1, g(1), b * 784, 6);
    k.padRows(at.d1, at.d1Padded, b * 784, 6, 8); // the filter gradient reads 8 channels at a time
    k.conv2dFilterGradient(
      heapOffset(backend, x),
      at.d1Padded,
      g(0),
      at.sums,
      b,
      32,
      32,
      1,
      28,
      28,
      6,
      8,
      5,
      25,
    );
  });
  return [loss, ...grads];
}

/**
 * `LeNet5Gradients` ({@link LENET5_GRADIENTS_KERNEL}) on the wasm backend. Registered only where
 * WebAssembly SIMD runs; a wasm backend whose memory the kernels cannot reach (a threaded build)
 * gets a clear error.
 */
export const wasmLenet5Gradients: KernelConfig = {
  kernelName: LENET5_GRADIENTS_KERNEL,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: { inputs: Record<string, TensorInfo>; backend: BackendWasm }) => {
    const kernels = simdKernelsFor(backend);
    if (kernels == null) {
      throw new Error(
        `${LENET5_GRADIENTS_KERNEL} needs the wasm backend's own memory, which a threaded wasm build does not export. ` +
          'Use the single-threaded wasm backend (the default under Node).',
      );
    }
    const { x, labels } = inputs as { x: TensorInfo; labels: TensorInfo };
    return lenet5Gradients(kernels, backend, x, labels, inputs as Record<ParamName, TensorInfo>);
  }) as unknown as KernelFunc,
};
