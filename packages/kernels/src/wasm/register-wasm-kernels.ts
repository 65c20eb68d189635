import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  Add,
  AvgPool,
  AvgPoolGrad,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  Identity,
  type KernelConfig,
  registerKernel,
  Sum,
  Tanh,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import type { RegisteredKernels } from '../registered-kernels';
import { simdBiasAdd } from './kernels/Add';
import { simdAvgPool } from './kernels/AvgPool';
import { simdAvgPoolGrad } from './kernels/AvgPoolGrad';
import { simdBatchMatMul } from './kernels/BatchMatMul';
import { simdConv2d } from './kernels/Conv2D';
import { wasmConv2dBackpropFilter } from './kernels/Conv2DBackpropFilter';
import { fastWasmConv2dBackpropInput } from './kernels/Conv2DBackpropInput';
import { wasmFusedAdamUpdate } from './kernels/FusedAdamUpdate';
import { wasmFusedAdamUpdateInPlace } from './kernels/FusedAdamUpdateInPlace';
import { sharedIdentity } from './kernels/Identity';
import { wasmLeNet5Gradients } from './kernels/LeNet5Gradients';
import { wasmLeNet5Logits } from './kernels/LeNet5Logits';
import { simdSum } from './kernels/Sum';
import { simdTanh } from './kernels/Tanh';
import { whySimdCannotRunOn } from './wasm-module';

/** Stock kernels we wrap: the SIMD path runs what it can and hands every other call to the stock kernel. */
const SIMD_WRAPPERS: [kernelName: string, wrap: (stock: KernelConfig) => KernelConfig][] = [
  [Tanh, simdTanh],
  [AvgPool, simdAvgPool],
  [AvgPoolGrad, simdAvgPoolGrad],
  [Sum, simdSum],
  [BatchMatMul, simdBatchMatMul],
  [Conv2D, simdConv2d],
  [Add, simdBiasAdd],
];

/** Wrappers that need no SIMD and run on any wasm build, threaded or not. */
const PORTABLE_WRAPPERS: [kernelName: string, wrap: (stock: KernelConfig) => KernelConfig][] = [
  [Conv2DBackpropInput, fastWasmConv2dBackpropInput],
  [Identity, sharedIdentity],
];

/** The fused kernels @lenet/ops runs where they are registered; they exist only with SIMD. */
const FUSED: KernelConfig[] = [
  wasmLeNet5Gradients,
  wasmLeNet5Logits,
  wasmFusedAdamUpdate,
  wasmFusedAdamUpdateInPlace,
];

/** Marks the kernel configs registered here, so that registering twice changes nothing. */
const OURS = Symbol.for('@lenet/kernels');

function isOurs(config: KernelConfig | undefined): boolean {
  return config != null && OURS in config;
}

function registerOurs(config: KernelConfig): void {
  registerKernel(Object.assign({ ...config }, { [OURS]: true }));
}

/** Puts `wrap(stock)` in place of the wasm backend's `kernelName`, once. */
function wrapStockKernel(kernelName: string, wrap: (stock: KernelConfig) => KernelConfig): boolean {
  const stock = getKernel(kernelName, 'wasm');
  if (stock == null) return false;
  if (isOurs(stock)) return true;
  unregisterKernel(kernelName, 'wasm');
  registerOurs(wrap(stock));
  return true;
}

/**
 * Registers, for the tfjs wasm backend `backend` (initialised: call it once `tf.setBackend('wasm')`
 * has resolved), what it can run:
 * - always: `Conv2DBackpropFilter`, which the stock backend lacks (a `Conv2DBackpropFilter` tfjs
 *   itself provides is left in place), and faster `Conv2DBackpropInput` and `Identity`;
 * - where our SIMD module can use the backend's memory ({@link whySimdCannotRunOn}): SIMD versions
 *   of the stock kernels LeNet spends its time in, and the fused kernels `LeNet5Gradients`,
 *   `LeNet5Logits`, `FusedAdamUpdate` and `FusedAdamUpdateInPlace`. Where it cannot (a threaded build on shared memory, an
 *   engine without SIMD), fused kernels registered earlier are taken out again, so @lenet/ops takes
 *   the plain path: nothing throws at call time.
 * Idempotent.
 */
export function registerWasmKernels(backend: BackendWasm): RegisteredKernels {
  const kernels: string[] = [];
  if (getKernel(Conv2DBackpropFilter, 'wasm') == null) registerOurs(wasmConv2dBackpropFilter);
  if (isOurs(getKernel(Conv2DBackpropFilter, 'wasm'))) kernels.push(Conv2DBackpropFilter);
  for (const [name, wrap] of PORTABLE_WRAPPERS) if (wrapStockKernel(name, wrap)) kernels.push(name);

  const simdSkipped = whySimdCannotRunOn(backend);
  if (simdSkipped != null) {
    for (const fused of FUSED) {
      if (isOurs(getKernel(fused.kernelName, 'wasm'))) unregisterKernel(fused.kernelName, 'wasm');
    }
    return { backend: 'wasm', kernels, simdSkipped };
  }
  for (const [name, wrap] of SIMD_WRAPPERS) if (wrapStockKernel(name, wrap)) kernels.push(name);
  for (const fused of FUSED) {
    if (getKernel(fused.kernelName, 'wasm') == null) registerOurs(fused);
    if (isOurs(getKernel(fused.kernelName, 'wasm'))) kernels.push(fused.kernelName);
  }
  return { backend: 'wasm', kernels };
}
