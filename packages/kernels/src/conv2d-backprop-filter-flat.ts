import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** The geometry of a `Conv2DBackpropFilter` call, from its inputs and attributes. */
export function conv2dBackpropFilterInfo(
  inputs: Conv2DBackpropFilterInputs,
  attrs: Conv2DBackpropFilterAttrs,
): backend_util.Conv2DInfo {
  const x = inputs.x as TensorInfo;
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1, // the conv2d gradient rejects dilations other than 1 before it gets here
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

/**
 * The filter gradient of a 2-D convolution, computed on flat typed arrays:
 * `dW[r, c, i, o] = Σ_{b, y, x} input[b, y·sH + r − top, x·sW + c − left, i] · dy[b, y, x, o]`.
 *
 * Works for both data formats, any stride and any padding (`convInfo` carries them).
 * Each output is summed in float64 in the order (b, y, x), the same order as the tfjs reference
 * kernel, so the float32 result is bit-identical to it; only the memory access pattern differs:
 * the innermost loop runs over contiguous output channels instead of calling `TensorBuffer.get`.
 *
 * @param input - the convolution's input values, laid out as `convInfo.inShape`.
 * @param dy - the gradient of the convolution's output, laid out as `convInfo.outShape`.
 * @param convInfo - from `backend_util.computeConv2DInfo` (dilation must be 1).
 * @returns the filter gradient, shape `[filterHeight, filterWidth, inChannels, outChannels]`.
 */
export function conv2dBackpropFilterFlat(
  input: ArrayLike<number>,
  dy: ArrayLike<number>,
  convInfo: backend_util.Conv2DInfo,
): Float32Array {
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
  } = convInfo;
  const top = convInfo.padInfo.top;
  const left = convInfo.padInfo.left;
  const channelsLast = convInfo.dataFormat === 'channelsLast';

  // Element strides of input and dy, per logical axis, for either layout.
  const xB = inHeight * inWidth * inChannels;
  const xR = channelsLast ? inWidth * inChannels : inWidth;
  const xC = channelsLast ? inChannels : 1;
  const xD = channelsLast ? 1 : inHeight * inWidth;
  const yB = outHeight * outWidth * outChannels;
  const yR = channelsLast ? outWidth * outChannels : outWidth;
  const yC = channelsLast ? outChannels : 1;
  const yD = channelsLast ? 1 : outHeight * outWidth;

  const sums = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  const dyPixel = new Float64Array(outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let outRow = 0; outRow < outHeight; outRow++) {
      for (let outCol = 0; outCol < outWidth; outCol++) {
        const dyBase = b * yB + outRow * yR + outCol * yC;
        for (let o = 0; o < outChannels; o++) dyPixel[o] = dy[dyBase + o * yD];
        for (let r = 0; r < filterHeight; r++) {
          const inRow = outRow * strideHeight + r - top;
          if (inRow < 0 || inRow >= inHeight) continue;
          for (let c = 0; c < filterWidth; c++) {
            const inCol = outCol * strideWidth + c - left;
            if (inCol < 0 || inCol >= inWidth) continue;
            const xBase = b * xB + inRow * xR + inCol * xC;
            const sumBase = (r * filterWidth + c) * inChannels * outChannels;
            for (let i = 0; i < inChannels; i++) {
              const xValue = input[xBase + i * xD];
              const rowStart = sumBase + i * outChannels;
              for (let o = 0; o < outChannels; o++) sums[rowStart + o] += xValue * dyPixel[o];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(sums);
}
