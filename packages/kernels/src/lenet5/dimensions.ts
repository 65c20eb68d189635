// Every size the fused LeNet-5 step uses, derived once from the model's shapes (@lenet/ops'
// PARAM_SHAPES and INPUT_SIZE), so that no layer size is spelled out in the step itself.
//
// Legend, NHWC, one image (a chunk holds n of them):
//   x       32x32x1   --C1 conv 5x5, tanh-->  a1 28x28x6   --S2 avg 2x2-->  p2 14x14x6
//   --C3 conv 5x5, tanh-->  a3 10x10x16  --S4 avg 2x2-->  p4 5x5x16 = 400 floats
//   --C5 conv 5x5 over the whole map (a dense layer on p4's 400 floats), tanh-->  a5 120
//   --F6 dense, tanh-->  a6 84  --output dense-->  logits 10
// The matmul kernel writes rows padded to its 8-wide tiles, so a6 and the logits are kept padded.
import { INPUT_SIZE, PARAM_SHAPES } from '@lenet/ops';

/** A feature map, NHWC without the batch axis. */
export interface MapSize {
  h: number;
  w: number;
  c: number;
}

/** Floats in one image's map. */
export function floatsOf(map: MapSize): number {
  return map.h * map.w * map.c;
}

/** `n` rounded up to a multiple of `m`. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Columns per register tile of the matmul kernel, and channels per pass of the filter gradient. */
export const TILE_COLUMNS = 8;

const [kernel, , inChannels, c1Channels] = PARAM_SHAPES['C1/kernel'] as [number, number, number, number];
const c3Channels = PARAM_SHAPES['C3/kernel'][3]!;
const c5Units = PARAM_SHAPES['C5/kernel'][3]!;
const f6Units = PARAM_SHAPES['F6/kernel'][1]!;
const classes = PARAM_SHAPES['output/kernel'][1]!;
/** S2 and S4: 2x2 windows, stride 2. */
const pool = 2;

const x: MapSize = { h: INPUT_SIZE, w: INPUT_SIZE, c: inChannels };
const a1: MapSize = { h: x.h - kernel + 1, w: x.w - kernel + 1, c: c1Channels };
const p2: MapSize = { h: a1.h / pool, w: a1.w / pool, c: c1Channels };
const a3: MapSize = { h: p2.h - kernel + 1, w: p2.w - kernel + 1, c: c3Channels };
const p4: MapSize = { h: a3.h / pool, w: a3.w / pool, c: c3Channels };
if (
  p4.h !== kernel ||
  kernel !== 5 ||
  inChannels !== 1 ||
  a1.w % 4 !== 0 ||
  c1Channels !== 6 ||
  pool !== 2 ||
  !Number.isInteger(p2.h) ||
  !Number.isInteger(p4.h) ||
  c3Channels % TILE_COLUMNS !== 0
) {
  throw new Error(
    'The fused LeNet-5 step expects 5x5 filters, a one-channel input, C5 to cover all of S4, the pools to tile their inputs, C1 6 channels and whole vectors of pixels per row, S2 2x2 windows, and C3 whole passes of channels.',
  );
}

/** The sizes of the reference LeNet-5 as the fused step lays them out. */
export const LENET5 = {
  kernel,
  pool,
  x,
  a1,
  p2,
  a3,
  p4,
  /** C5's inputs: S4's map, flat. */
  c5Inputs: floatsOf(p4),
  c5Units,
  f6Units,
  classes,
  /** C3's im2col patch: one output pixel's 5x5 window over S2's channels. */
  c3Patch: kernel * kernel * p2.c,
  /** F6's and the output's columns as the matmul kernel writes them. */
  f6Padded: roundUp(f6Units, TILE_COLUMNS),
  classesPadded: roundUp(classes, TILE_COLUMNS),
  /** C1's bias repeated to a whole number of 4-lane vectors (lcm(6, 4)). */
  c1BiasPeriod: lcm(c1Channels, 4),
  /** Scratch of C1's filter gradient (conv2dFilterGradientOneChannel): 5 x 2 vectors per filter row and pair of channels. */
  c1FilterGradientSums: kernel * 10 * Math.ceil(c1Channels / 2) * 4,
  /** One 5-pixel run of C3's filter (kw · inC floats), padded for the input-gradient kernel. */
  c3FilterRun: roundUp(kernel * p2.c, TILE_COLUMNS),
} as const;

function lcm(a: number, b: number): number {
  let [p, q] = [a, b];
  while (q !== 0) [p, q] = [q, p % q];
  return (a * b) / p;
}
