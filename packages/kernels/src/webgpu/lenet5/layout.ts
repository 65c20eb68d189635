// Where the WGSL LeNet-5 pass keeps things in GPU memory. Sizes come from ../../lenet5/dimensions.ts
// (legend there: x 32x32x1 -> a1 28x28x6 -> p2 14x14x6 -> a3 10x10x16 -> p4 5x5x16 -> a5 120 -> a6 84 -> 10).
//
// - The parameters travel packed in one buffer, in PARAM_NAMES order, and the gradients come back
//   packed the same way with the mean loss after them: a shader may bind only 8 storage buffers
//   (WebGPU's default limit), fewer than LeNet-5's 10 parameters, and copies between buffers cost no
//   dispatch. Each parameter starts at a multiple of 4 floats, so shaders read them as vec4s.
// - Every map the backward pass needs has a buffer of its own, the batch's images one after another:
//   a dispatch may not write a buffer it also reads through another binding.
import { PARAM_NAMES, PARAM_SHAPES, type ParamName } from '@lenet/ops';
import { floatsOf, LENET5 } from '../../lenet5/dimensions';

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Each parameter's first float in the packed parameter (and gradient) buffer: a multiple of 4. */
export const PARAM_OFFSETS = {} as Record<ParamName, number>;
let end = 0;
for (const name of PARAM_NAMES) {
  PARAM_OFFSETS[name] = end;
  end += Math.ceil(sizeOf(PARAM_SHAPES[name]) / 4) * 4;
}
/** Floats of all parameters, padded; in the gradient buffer the mean loss follows them, at this index. */
export const PARAM_FLOATS = end;

/** The parameters whose gradients sum over every pixel of a map (C1's and C3's): the first ones. */
export const CONV_PARAM_FLOATS = PARAM_OFFSETS['C5/kernel'];

/** C1's pre-activation gradient keeps 8 channels a pixel (6 used), two vec4s. */
export const DZ1_CHANNELS = 8;

/** Floats per image of each map buffer a training step uses. */
export const MAP_FLOATS = {
  /** C1's outputs after tanh. */
  a1: floatsOf(LENET5.a1),
  /** S2's outputs, C3's inputs. */
  p2: floatsOf(LENET5.p2),
  a3: floatsOf(LENET5.a3),
  /** S4's outputs, C5's inputs. */
  p4: floatsOf(LENET5.p4),
  a5: LENET5.c5Units,
  a6: LENET5.f6Units,
  /** d loss / d logits (already divided by the batch size), then, after the whole batch's, each image's loss. */
  head: LENET5.classes + 1,
  /** Gradients at F6's, C5's, C3's and C1's pre-activations. */
  dz6: LENET5.f6Units,
  dz5: LENET5.c5Units,
  dz3: floatsOf(LENET5.a3),
  dz1: LENET5.a1.h * LENET5.a1.w * DZ1_CHANNELS,
  /**
   * C3's input gradient before it is summed: for every C3 output pixel and filter tap, that pixel's dz3
   * through the tap's filter, 8 floats (6 input channels used), so that the sum over taps is a gather.
   */
  dcol: (floatsOf(LENET5.a3) / LENET5.a3.c) * LENET5.kernel * LENET5.kernel * DZ1_CHANNELS,
} as const;
export type MapName = keyof typeof MAP_FLOATS;

/**
 * Images per chunk of the conv weight-gradient pass. Each chunk's invocations sum their images'
 * terms, and the last pass sums the chunks: about 64 chunks keep a GPU busy at any batch size
 * without a partial sum per image.
 */
export function imagesPerChunk(batch: number): number {
  return Math.max(1, Math.ceil(batch / 64));
}

/** The batch and how the conv weight-gradient pass splits it. */
export interface PassLayout {
  batch: number;
  imagesPerChunk: number;
  chunks: number;
}

export function passLayout(batch: number): PassLayout {
  const perChunk = imagesPerChunk(batch);
  return { batch, imagesPerChunk: perChunk, chunks: Math.ceil(batch / perChunk) };
}

/** The WGSL struct of {@link passUniforms}. */
export const PASS_UNIFORMS_WGSL = 'struct Pass { batch: u32, imagesPerChunk: u32, chunks: u32, unused: u32 }';

export function passUniforms(layout: PassLayout): Uint32Array<ArrayBuffer> {
  return Uint32Array.from([layout.batch, layout.imagesPerChunk, layout.chunks, 0]);
}
