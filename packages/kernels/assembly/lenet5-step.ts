// Pieces only the fused LeNet-5 step uses (src/wasm/lenet5/): a layer's bias and tanh in one pass,
// C1's bias and tanh with S2's pooling in one pass, the tanh gradient, S2's pooling and tanh
// gradient in one pass (written planar for C1's filter gradient), the sums of a planar map's
// channels, and summing the gradients of a batch's chunks.
import { laneSum } from './lanes';
import { tanh4 } from './tanh';

/**
 * out[k] = x[k] + pattern[k % period] for k < n, then tanh of that where `thenTanh` (a layer's bias
 * and activation in one pass), with `period` a multiple of 4: adding a bias of C values to every
 * row of a tensor [rows, C] is this with the bias repeated to lcm(C, 4) values, which lets whole
 * vectors run over the flat tensor whatever C is. out may be x.
 */
export function addRepeating(x: usize, pattern: usize, out: usize, n: i32, period: i32, thenTanh: bool): void {
  const vectorEnd = n & ~3;
  const patternEnd = pattern + (<usize>period << 2);
  let p = pattern;
  let k = 0;
  for (; k < vectorEnd; k += 4) {
    const at = <usize>k << 2;
    const sum = f32x4.add(v128.load(x + at), v128.load(p));
    if (thenTanh) v128.store(out + at, tanh4(sum));
    else v128.store(out + at, sum);
    p += 16;
    if (p == patternEnd) p = pattern;
  }
  for (; k < n; k++) {
    const at = <usize>k << 2;
    const sum = load<f32>(x + at) + load<f32>(pattern + (<usize>(k % period) << 2));
    store<f32>(out + at, thenTanh ? f32x4.extract_lane(tanh4(f32x4.splat(sum)), 0) : sum);
  }
}

/**
 * C1's bias and tanh and S2's 2x2 average pool in one pass over C1's output, for C1's 6 channels:
 * x[k] = tanh(x[k] + bias[c]) in place (the backward pass needs it), and y = the mean of each 2x2
 * window of that. x NHWC [batch, inH, inW, 6], y [batch, inH / 2, inW / 2, 6]; inW a multiple of 4.
 * `bias` is the 6 biases repeated to 12 floats (3 vectors): 4 neighbouring pixels are 6 vectors, so
 * each vector of a row has the same 4 channels as every third one. The tanh values are pooled while
 * still in registers, where separate passes read all of C1's output twice.
 */
export function biasTanhAvgPool2x2(x: usize, bias: usize, y: usize, batch: i32, inH: i32, inW: i32, channels: i32): void {
  if (channels != 6 || (inW & 3) != 0) unreachable(); // the caller checks
  const bias0 = v128.load(bias);
  const bias1 = v128.load(bias, 16);
  const bias2 = v128.load(bias, 32);
  const quarter = f32x4.splat(0.25);
  const rowBytes = <usize>(inW * 6) << 2;
  const outH = inH >> 1;
  let to = y;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      let top = x + <usize>(b * inH + 2 * oy) * rowBytes;
      const end = top + rowBytes;
      for (; top < end; top += 96) {
        // Two rows of 4 pixels (two windows): each vector's tanh, stored back, and the column sums.
        const bottom = top + rowBytes;
        const s0 = f32x4.add(tanhInPlace(top, 0, bias0), tanhInPlace(bottom, 0, bias0));
        const s1 = f32x4.add(tanhInPlace(top, 16, bias1), tanhInPlace(bottom, 16, bias1));
        const s2 = f32x4.add(tanhInPlace(top, 32, bias2), tanhInPlace(bottom, 32, bias2));
        const s3 = f32x4.add(tanhInPlace(top, 48, bias0), tanhInPlace(bottom, 48, bias0));
        const s4 = f32x4.add(tanhInPlace(top, 64, bias1), tanhInPlace(bottom, 64, bias1));
        const s5 = f32x4.add(tanhInPlace(top, 80, bias2), tanhInPlace(bottom, 80, bias2));
        // Pixels 0 and 1 are s0 s1[0..1] and s1[2..3] s2, pixels 2 and 3 likewise s3 s4 s5.
        const firstLow = f32x4.add(s0, i32x4.shuffle(s1, s2, 2, 3, 4, 5));
        const firstPairs = i32x4.shuffle(s1, s2, 0, 1, 6, 7);
        const firstHigh = f32x4.add(firstPairs, i32x4.shuffle(firstPairs, firstPairs, 2, 3, 0, 1));
        const secondLow = f32x4.add(s3, i32x4.shuffle(s4, s5, 2, 3, 4, 5));
        const secondPairs = i32x4.shuffle(s4, s5, 0, 1, 6, 7);
        const secondHigh = f32x4.add(secondPairs, i32x4.shuffle(secondPairs, secondPairs, 2, 3, 0, 1));
        // Two output pixels, 12 floats: firstLow, firstHigh[0..1], secondLow, secondHigh[0..1].
        v128.store(to, f32x4.mul(firstLow, quarter));
        v128.store(to, f32x4.mul(i32x4.shuffle(firstHigh, secondLow, 0, 1, 4, 5), quarter), 16);
        v128.store(to, f32x4.mul(i32x4.shuffle(secondLow, secondHigh, 2, 3, 4, 5), quarter), 32);
        to += 48;
      }
    }
  }
}

/** tanh(v + bias) of the vector at `at + offset`, stored back there and returned. */
// @ts-ignore: decorator
@inline
function tanhInPlace(at: usize, offset: usize, bias: v128): v128 {
  const t = tanh4(f32x4.add(v128.load(at + offset), bias));
  v128.store(at + offset, t);
  return t;
}

/** dx[k] = dy[k] · (1 - y[k]²): the gradient through y = tanh(x), from y. dx may be dy. */
export function tanhGradient(y: usize, dy: usize, dx: usize, n: i32): void {
  const vectorEnd = n & ~3;
  const one = f32x4.splat(1);
  let k = 0;
  for (; k < vectorEnd; k += 4) {
    const at = <usize>k << 2;
    const v = v128.load(y + at);
    v128.store(dx + at, f32x4.mul(v128.load(dy + at), f32x4.sub(one, f32x4.mul(v, v))));
  }
  for (; k < n; k++) {
    const at = <usize>k << 2;
    const v = load<f32>(y + at);
    store<f32>(dx + at, load<f32>(dy + at) * (1 - v * v));
  }
}

/**
 * {@link avgPoolGradTiled} and {@link tanhGradient} in one pass for S2 behind C1 (6 channels, 2x2
 * windows), written planar for {@link conv2dFilterGradientOneChannel}:
 * dx[b, c, iy, ix] = dy[b, iy / 2, ix / 2, c] / 4 · (1 - y[b, iy, ix, c]²), with dy and y NHWC and
 * dx [batch, 6, iy, ix]. A window's two pixels in a row are neighbours in every plane, so each plane
 * gets both in one 8-byte store. It reads 8 floats from each pixel of dy and y, so both need room
 * for 2 floats past their end.
 */
export function avgPoolTanhGradientPlanar(dy: usize, y: usize, dx: usize, batch: i32, outH: i32, outW: i32, channels: i32): void {
  if (channels != 6) unreachable(); // the caller checks
  const quarter = f32x4.splat(0.25);
  const one = f32x4.splat(1);
  const inW = outW * 2;
  const planeBytes = <usize>(outH * 2 * inW) << 2;
  const rowBytes = <usize>(inW * 6) << 2;
  let from = dy;
  for (let b = 0; b < batch; b++) {
    const image = dx + <usize>(b * 6) * planeBytes;
    for (let oy = 0; oy < outH; oy++) {
      let at = y + <usize>(b * outH * 2 + oy * 2) * rowBytes;
      let to = image + (<usize>(oy * 2 * inW) << 2);
      for (let ox = 0; ox < outW; ox++) {
        const g0 = f32x4.mul(v128.load(from), quarter);
        const g1 = f32x4.mul(v128.load(from, 16), quarter);
        for (let i: usize = 0; i < 2; i++) {
          const row = at + i * rowBytes;
          const left0 = v128.load(row);
          const left1 = v128.load(row, 16);
          const right0 = v128.load(row, 24);
          const right1 = v128.load(row, 40);
          const leftLow = f32x4.mul(g0, f32x4.sub(one, f32x4.mul(left0, left0)));
          const leftHigh = f32x4.mul(g1, f32x4.sub(one, f32x4.mul(left1, left1)));
          const rightLow = f32x4.mul(g0, f32x4.sub(one, f32x4.mul(right0, right0)));
          const rightHigh = f32x4.mul(g1, f32x4.sub(one, f32x4.mul(right1, right1)));
          // Lanes (left c, right c) side by side for channels 0-1, 2-3 and 4-5.
          const pairs01 = i32x4.shuffle(leftLow, rightLow, 0, 4, 1, 5);
          const pairs23 = i32x4.shuffle(leftLow, rightLow, 2, 6, 3, 7);
          const pairs45 = i32x4.shuffle(leftHigh, rightHigh, 0, 4, 1, 5);
          const out = to + ((i * <usize>inW) << 2);
          v128.store64_lane(out, pairs01, 0);
          v128.store64_lane(out + planeBytes, pairs01, 1);
          v128.store64_lane(out + 2 * planeBytes, pairs23, 0);
          v128.store64_lane(out + 3 * planeBytes, pairs23, 1);
          v128.store64_lane(out + 4 * planeBytes, pairs45, 0);
          v128.store64_lane(out + 5 * planeBytes, pairs45, 1);
        }
        from += 24;
        at += 48;
        to += 8;
      }
    }
  }
}

/** out[c] = Σ over b and k of x[b, c, k]: the sum of each channel of a planar [batch, channels, planeFloats] map. */
export function sumPlanes(x: usize, out: usize, batch: i32, channels: i32, planeFloats: i32): void {
  const vectorEnd = planeFloats & ~3;
  for (let c = 0; c < channels; c++) {
    let sums = f32x4.splat(0);
    let tail: f32 = 0;
    for (let b = 0; b < batch; b++) {
      const plane = x + (<usize>((b * channels + c) * planeFloats) << 2);
      let k = 0;
      for (; k < vectorEnd; k += 4) sums = f32x4.add(sums, v128.load(plane + (<usize>k << 2)));
      for (; k < planeFloats; k++) tail += load<f32>(plane + (<usize>k << 2));
    }
    store<f32>(out + (<usize>c << 2), laneSum(sums) + tail);
  }
}

/** to[k] += from[k] for k < n. */
export function accumulate(from: usize, to: usize, n: i32): void {
  const vectorEnd = n & ~3;
  let k = 0;
  for (; k < vectorEnd; k += 4) {
    const at = <usize>k << 2;
    v128.store(to + at, f32x4.add(v128.load(to + at), v128.load(from + at)));
  }
  for (; k < n; k++) {
    const at = <usize>k << 2;
    store<f32>(to + at, load<f32>(to + at) + load<f32>(from + at));
  }
}
