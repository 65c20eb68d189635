import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  FUSED_KERNEL_NAMES,
  FusedAdamUpdate,
  FusedAdamUpdateInPlace,
  LeNet5,
  LeNet5Gradients,
  LeNet5Logits,
} from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { registerKernels } from './register-kernels';
import { whySimdCannotRun } from './wasm/wasm-module';

/** The kernels tfjs runs for `work`, by name, in order. */
async function kernelsRun(work: () => tf.TensorContainer): Promise<string[]> {
  const profile = await tf.profile(() => work());
  return profile.kernelNames;
}

describe('registerKernels on wasm (Node: single-threaded, with SIMD)', () => {
  it('registers the SIMD and fused kernels, and @lenet/ops then runs one kernel per step and per forward pass', async () => {
    await tf.setBackend('wasm');
    const registered = registerKernels();
    expect(registered.simdSkipped).toBeUndefined();
    expect(registered.kernels).toEqual(
      expect.arrayContaining([...FUSED_KERNEL_NAMES, 'Conv2DBackpropFilter', 'Tanh', 'BatchMatMul']),
    );
    const model = LeNet5.create({ seed: 1 });
    const x = tf.randomUniform([3, 32, 32, 1]) as tf.Tensor4D;
    const y = tf.tensor1d([1, 2, 3], 'int32');
    expect(await kernelsRun(() => model.lossAndGradients(x, y).value)).toContain(LeNet5Gradients);
    const gradientKernels = (
      await kernelsRun(() => Object.values(model.lossAndGradients(x, y).grads))
    ).filter((name) => /Gradients|Backprop|Grad$/.test(name));
    expect(gradientKernels).toEqual([LeNet5Gradients]);
    expect(await kernelsRun(() => model.predict(x))).toContain(LeNet5Logits);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('is idempotent: a second call changes no registered kernel', async () => {
    await tf.setBackend('wasm');
    registerKernels();
    const before = ['Tanh', 'Conv2DBackpropFilter', LeNet5Gradients].map((name) =>
      tf.getKernel(name, 'wasm'),
    );
    registerKernels();
    const after = ['Tanh', 'Conv2DBackpropFilter', LeNet5Gradients].map((name) => tf.getKernel(name, 'wasm'));
    expect(after).toEqual(before);
    for (const [i, config] of after.entries()) expect(config).toBe(before[i]);
  });
});

describe('registerKernels on cpu', () => {
  it('registers the flat-array Conv2DBackpropFilter and the fused Adam, and no forward kernel', async () => {
    await tf.setBackend('cpu');
    expect(registerKernels()).toEqual({
      backend: 'cpu',
      kernels: ['Conv2DBackpropFilter', FusedAdamUpdate, FusedAdamUpdateInPlace],
    });
    expect(tf.getKernel(FusedAdamUpdate, 'cpu')).toBeDefined();
    expect(tf.getKernel(LeNet5Gradients, 'cpu')).toBeUndefined();
  });
});

describe('whySimdCannotRun: which wasm heaps our SIMD module can import', () => {
  it('runs on a plain memory, as the single-threaded wasm backend has', () => {
    expect(whySimdCannotRun(new WebAssembly.Memory({ initial: 1 }))).toBeUndefined();
  });

  it('stays out of a shared memory, as the threaded wasm backend (cross-origin isolated pages) has', () => {
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    expect(whySimdCannotRun(shared)).toMatch(/threaded, on shared memory/);
  });

  it('stays out where the backend exports no memory', () => {
    expect(whySimdCannotRun(undefined)).toMatch(/does not export its memory/);
  });
});
