import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterFlat, conv2dBackpropFilterInfo } from '../../conv2d-backprop-filter-flat';

// The cpu backend's own Conv2DBackpropFilter calls TensorBuffer.get twice per multiply-add, which
// makes it nearly all of a LeNet training step there.
function conv2dBackpropFilterCpu(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: MathBackendCPU;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  if (x.dtype === 'complex64' || dy.dtype === 'complex64') {
    throw new Error('Conv2DBackpropFilter (cpu, @lenet/kernels): complex64 inputs are not supported.');
  }
  const convInfo = conv2dBackpropFilterInfo(inputs, attrs);
  const xValues = backend.data.get(x.dataId).values as Float32Array;
  const dyValues = backend.data.get(dy.dataId).values as Float32Array;
  const dW = conv2dBackpropFilterFlat(xValues, dyValues, convInfo);
  return backend.makeTensorInfo(convInfo.filterShape, 'float32', dW);
}

/**
 * `Conv2DBackpropFilter` on the cpu backend: bit-identical gradients, reading the flat arrays
 * directly instead of through TensorBuffer.get.
 */
export const cpuConv2dBackpropFilter: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'cpu',
  kernelFunc: conv2dBackpropFilterCpu as unknown as KernelFunc,
};
