import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Wraps the wasm backend's `Identity` (`stock`, a copy of the whole tensor): the result shares the
 * input's data, as on the cpu backend (tfjs tensors are immutable). tfjs clones every tensor a
 * gradient needs later, so on a training step this saves copying every feature map once more.
 */
export function sharedIdentity(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: object }) => {
    const { x } = args.inputs;
    if (x.dtype === 'string')
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}
