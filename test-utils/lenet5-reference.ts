/**
 * The reference LeNet-5 in float64 with plain loops, no tfjs: forward logits and loss, and the gradient of
 * the loss for every parameter. Every backend's float32 results are checked against it, so it must not share
 * code with any of them; the layout of llm.c (paired _forward/_backward functions over flat arrays).
 *
 * Dimensions:
 *   B = batch size
 *   K = 5, the convolution window: every convolution is 'valid', stride 1, cross-correlation as in tfjs
 *   x       [B, 32, 32, 1]   the input, NHWC
 *   c1      [B, 28, 28, 6]   tanh(conv(x, C1/kernel [K,K,1,6]) + C1/bias [6])
 *   s2      [B, 14, 14, 6]   avgpool 2x2 stride 2 of c1
 *   c3      [B, 10, 10, 16]  tanh(conv(s2, C3/kernel [K,K,6,16]) + C3/bias [16])
 *   s4      [B, 5, 5, 16]    avgpool 2x2 stride 2 of c3
 *   c5      [B, 1, 1, 120]   tanh(conv(s4, C5/kernel [K,K,16,120]) + C5/bias [120]), read as [B, 120]
 *   f6      [B, 84]          tanh(c5 @ F6/kernel [120,84] + F6/bias [84])
 *   logits  [B, 10]          f6 @ output/kernel [84,10] + output/bias [10]
 *   loss    scalar           mean over the batch of -log softmax(logits[b])[labels[b]]
 * Conv kernels are HWIO: weight[((kh*K + kw)*C + c)*OC + oc]; dense kernels [in, out]: weight[c*OC + oc].
 */
import { PARAM_NAMES, PARAM_SHAPES, type ParamName } from '../packages/ops/src/model';

const K = 5;

/** The parameters by name, each flat in row-major order of its PARAM_SHAPES shape. */
export type ReferenceParams = Record<ParamName, ArrayLike<number>>;

/** What the reference computes for one batch. */
export interface ReferenceResult {
  /** [B, 10] */
  logits: Float64Array;
  /** The mean cross-entropy of the batch. */
  loss: number;
  /** d loss / d parameter, shaped as the parameter. */
  gradients: Record<ParamName, Float64Array>;
}

// ----------------------------------------------------------------------------------------------------------
// layers

/** out[b,oh,ow,oc] = bias[oc] + sum over kh,kw,c of inp[b,oh+kh,ow+kw,c] * weight[kh,kw,c,oc]. */
function conv_forward(
  out: Float64Array,
  inp: Float64Array,
  weight: Float64Array,
  bias: Float64Array,
  B: number,
  H: number,
  W: number,
  C: number,
  OC: number,
): void {
  const OH = H - K + 1;
  const OW = W - K + 1;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const o = ((b * OH + oh) * OW + ow) * OC;
        for (let oc = 0; oc < OC; oc++) out[o + oc] = bias[oc]!;
        for (let kh = 0; kh < K; kh++) {
          for (let kw = 0; kw < K; kw++) {
            for (let c = 0; c < C; c++) {
              const value = inp[((b * H + oh + kh) * W + ow + kw) * C + c]!;
              const w = ((kh * K + kw) * C + c) * OC;
              for (let oc = 0; oc < OC; oc++) out[o + oc] += value * weight[w + oc]!;
            }
          }
        }
      }
    }
  }
}

/** Adds the gradients of conv_forward to dweight, dbias and, unless it is null (the input), dinp. */
function conv_backward(
  dinp: Float64Array | null,
  dweight: Float64Array,
  dbias: Float64Array,
  dout: Float64Array,
  inp: Float64Array,
  weight: Float64Array,
  B: number,
  H: number,
  W: number,
  C: number,
  OC: number,
): void {
  const OH = H - K + 1;
  const OW = W - K + 1;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const o = ((b * OH + oh) * OW + ow) * OC;
        for (let oc = 0; oc < OC; oc++) dbias[oc] += dout[o + oc]!;
        for (let kh = 0; kh < K; kh++) {
          for (let kw = 0; kw < K; kw++) {
            for (let c = 0; c < C; c++) {
              const i = ((b * H + oh + kh) * W + ow + kw) * C + c;
              const w = ((kh * K + kw) * C + c) * OC;
              let dvalue = 0;
              for (let oc = 0; oc < OC; oc++) {
                dweight[w + oc] += inp[i]! * dout[o + oc]!;
                dvalue += weight[w + oc]! * dout[o + oc]!;
              }
              if (dinp !== null) dinp[i] += dvalue;
            }
          }
        }
      }
    }
  }
}

/** out = tanh(inp), in place allowed. */
function tanh_forward(out: Float64Array, inp: Float64Array, N: number): void {
  for (let i = 0; i < N; i++) out[i] = Math.tanh(inp[i]!);
}

/** d tanh(u) / du = 1 - tanh(u)^2, from the forward's output. */
function tanh_backward(dinp: Float64Array, dout: Float64Array, out: Float64Array, N: number): void {
  for (let i = 0; i < N; i++) dinp[i] += dout[i]! * (1 - out[i]! * out[i]!);
}

/** 2x2 windows, stride 2: out[b,i,j,c] = mean of inp[b,2i..2i+1,2j..2j+1,c]. H and W are even. */
function avgpool_forward(
  out: Float64Array,
  inp: Float64Array,
  B: number,
  H: number,
  W: number,
  C: number,
): void {
  const OH = H / 2;
  const OW = W / 2;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        for (let c = 0; c < C; c++) {
          let sum = 0;
          for (let di = 0; di < 2; di++) {
            for (let dj = 0; dj < 2; dj++) sum += inp[((b * H + 2 * i + di) * W + 2 * j + dj) * C + c]!;
          }
          out[((b * OH + i) * OW + j) * C + c] = sum / 4;
        }
      }
    }
  }
}

/** Each input of a window gets a quarter of its output's gradient. */
function avgpool_backward(
  dinp: Float64Array,
  dout: Float64Array,
  B: number,
  H: number,
  W: number,
  C: number,
): void {
  const OH = H / 2;
  const OW = W / 2;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        for (let c = 0; c < C; c++) {
          const d = dout[((b * OH + i) * OW + j) * C + c]! / 4;
          for (let di = 0; di < 2; di++) {
            for (let dj = 0; dj < 2; dj++) dinp[((b * H + 2 * i + di) * W + 2 * j + dj) * C + c] += d;
          }
        }
      }
    }
  }
}

/** out[b,oc] = bias[oc] + sum over c of inp[b,c] * weight[c,oc]. */
function matmul_forward(
  out: Float64Array,
  inp: Float64Array,
  weight: Float64Array,
  bias: Float64Array,
  B: number,
  C: number,
  OC: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let oc = 0; oc < OC; oc++) {
      let sum = bias[oc]!;
      for (let c = 0; c < C; c++) sum += inp[b * C + c]! * weight[c * OC + oc]!;
      out[b * OC + oc] = sum;
    }
  }
}

/** Adds the gradients of matmul_forward to dinp, dweight and dbias. */
function matmul_backward(
  dinp: Float64Array,
  dweight: Float64Array,
  dbias: Float64Array,
  dout: Float64Array,
  inp: Float64Array,
  weight: Float64Array,
  B: number,
  C: number,
  OC: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let oc = 0; oc < OC; oc++) {
      const d = dout[b * OC + oc]!;
      dbias[oc] += d;
      for (let c = 0; c < C; c++) {
        dweight[c * OC + oc] += inp[b * C + c]! * d;
        dinp[b * C + c] += weight[c * OC + oc]! * d;
      }
    }
  }
}

/** Row-wise softmax of [B, V] logits, shifted by the row's maximum so that exp never overflows. */
function softmax_forward(probs: Float64Array, logits: Float64Array, B: number, V: number): void {
  for (let b = 0; b < B; b++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[b * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) {
      probs[b * V + v] = Math.exp(logits[b * V + v]! - max);
      sum += probs[b * V + v]!;
    }
    for (let v = 0; v < V; v++) probs[b * V + v] /= sum;
  }
}

/** The mean over the batch of -log probs[b, labels[b]]. */
function crossentropy_forward(probs: Float64Array, labels: Int32Array, B: number, V: number): number {
  let sum = 0;
  for (let b = 0; b < B; b++) sum -= Math.log(probs[b * V + labels[b]!]!);
  return sum / B;
}

/** d loss / d logits of the mean cross-entropy of a softmax: (probs - onehot(labels)) / B. */
function crossentropy_softmax_backward(
  dlogits: Float64Array,
  probs: Float64Array,
  labels: Int32Array,
  B: number,
  V: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < V; v++) {
      dlogits[b * V + v] += (probs[b * V + v]! - (v === labels[b] ? 1 : 0)) / B;
    }
  }
}

// ----------------------------------------------------------------------------------------------------------
// the model

interface Activations {
  x: Float64Array;
  c1: Float64Array;
  s2: Float64Array;
  c3: Float64Array;
  s4: Float64Array;
  c5: Float64Array;
  f6: Float64Array;
  logits: Float64Array;
  probs: Float64Array;
}

function activations(B: number): Omit<Activations, 'x'> {
  return {
    c1: new Float64Array(B * 28 * 28 * 6),
    s2: new Float64Array(B * 14 * 14 * 6),
    c3: new Float64Array(B * 10 * 10 * 16),
    s4: new Float64Array(B * 5 * 5 * 16),
    c5: new Float64Array(B * 120),
    f6: new Float64Array(B * 84),
    logits: new Float64Array(B * 10),
    probs: new Float64Array(B * 10),
  };
}

function lenet5_forward(p: Record<ParamName, Float64Array>, x: Float64Array, B: number): Activations {
  const a = { x, ...activations(B) };
  conv_forward(a.c1, x, p['C1/kernel'], p['C1/bias'], B, 32, 32, 1, 6);
  tanh_forward(a.c1, a.c1, a.c1.length);
  avgpool_forward(a.s2, a.c1, B, 28, 28, 6);
  conv_forward(a.c3, a.s2, p['C3/kernel'], p['C3/bias'], B, 14, 14, 6, 16);
  tanh_forward(a.c3, a.c3, a.c3.length);
  avgpool_forward(a.s4, a.c3, B, 10, 10, 16);
  conv_forward(a.c5, a.s4, p['C5/kernel'], p['C5/bias'], B, 5, 5, 16, 120);
  tanh_forward(a.c5, a.c5, a.c5.length);
  matmul_forward(a.f6, a.c5, p['F6/kernel'], p['F6/bias'], B, 120, 84);
  tanh_forward(a.f6, a.f6, a.f6.length);
  matmul_forward(a.logits, a.f6, p['output/kernel'], p['output/bias'], B, 84, 10);
  softmax_forward(a.probs, a.logits, B, 10);
  return a;
}

function lenet5_backward(
  p: Record<ParamName, Float64Array>,
  a: Activations,
  labels: Int32Array,
  B: number,
): Record<ParamName, Float64Array> {
  const g = Object.fromEntries(
    PARAM_NAMES.map((name) => [name, new Float64Array(size(PARAM_SHAPES[name]))]),
  ) as Record<ParamName, Float64Array>;
  // d loss / d(each activation), after its tanh where it has one; tanh_backward turns it into d / d(pre-tanh).
  const d = activations(B);
  const dc1 = new Float64Array(d.c1.length);
  const dc3 = new Float64Array(d.c3.length);
  const dc5 = new Float64Array(d.c5.length);
  const df6 = new Float64Array(d.f6.length);
  crossentropy_softmax_backward(d.logits, a.probs, labels, B, 10);
  matmul_backward(d.f6, g['output/kernel'], g['output/bias'], d.logits, a.f6, p['output/kernel'], B, 84, 10);
  tanh_backward(df6, d.f6, a.f6, df6.length);
  matmul_backward(d.c5, g['F6/kernel'], g['F6/bias'], df6, a.c5, p['F6/kernel'], B, 120, 84);
  tanh_backward(dc5, d.c5, a.c5, dc5.length);
  conv_backward(d.s4, g['C5/kernel'], g['C5/bias'], dc5, a.s4, p['C5/kernel'], B, 5, 5, 16, 120);
  avgpool_backward(d.c3, d.s4, B, 10, 10, 16);
  tanh_backward(dc3, d.c3, a.c3, dc3.length);
  conv_backward(d.s2, g['C3/kernel'], g['C3/bias'], dc3, a.s2, p['C3/kernel'], B, 14, 14, 6, 16);
  avgpool_backward(d.c1, d.s2, B, 28, 28, 6);
  tanh_backward(dc1, d.c1, a.c1, dc1.length);
  conv_backward(null, g['C1/kernel'], g['C1/bias'], dc1, a.x, p['C1/kernel'], B, 32, 32, 1, 6);
  return g;
}

// ----------------------------------------------------------------------------------------------------------
// entry points

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks the sizes and labels, and copies everything into float64. */
function prepare(params: ReferenceParams, x: ArrayLike<number>, labels: ArrayLike<number>) {
  const B = labels.length;
  if (B < 1 || x.length !== B * 32 * 32) {
    throw new RangeError(`expected ${B} labels and ${B}x32x32x1 input values; got ${x.length} values`);
  }
  const p = {} as Record<ParamName, Float64Array>;
  for (const name of PARAM_NAMES) {
    if (params[name].length !== size(PARAM_SHAPES[name])) {
      throw new RangeError(`${name}: ${params[name].length} values for shape [${PARAM_SHAPES[name]}]`);
    }
    p[name] = Float64Array.from(params[name]);
  }
  const ids = Int32Array.from(labels);
  if (ids.some((label) => label < 0 || label > 9)) throw new RangeError('labels must be digits 0-9');
  return { p, x: Float64Array.from(x), labels: ids, B };
}

/** Logits, loss and every parameter's gradient of one batch. */
export function lenet5Reference(
  params: ReferenceParams,
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
): ReferenceResult {
  const prepared = prepare(params, x, labels);
  const a = lenet5_forward(prepared.p, prepared.x, prepared.B);
  return {
    logits: a.logits,
    loss: crossentropy_forward(a.probs, prepared.labels, prepared.B, 10),
    gradients: lenet5_backward(prepared.p, a, prepared.labels, prepared.B),
  };
}

/** The loss alone (the forward pass only), for finite differences. */
export function lenet5Loss(params: ReferenceParams, x: ArrayLike<number>, labels: ArrayLike<number>): number {
  const prepared = prepare(params, x, labels);
  const a = lenet5_forward(prepared.p, prepared.x, prepared.B);
  return crossentropy_forward(a.probs, prepared.labels, prepared.B, 10);
}
