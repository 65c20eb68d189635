// Stride-1 NHWC convolutions without padding: C1's forward pass and filter gradient, C3's forward pass, the filter
// gradient and the input gradient.
import { unpadRows } from './layout';
import { laneSum } from './lanes';
import { madd } from './madd';
import { tanh4 } from './tanh';

/**
 * A stride-1 NHWC convolution without padding of a one-channel input, y[b, oy, ox, o] =
 * Σ over r, c of x[b, oy + r, ox + c] · w[r, c, 0, o]. With one input channel the general kernels
 * waste most of their work; here 8 neighbouring output pixels of 4 channels stay in registers, and
 * each filter tap costs two vector loads of x and four weights. A 4x4 transpose turns the sums into
 * NHWC order. A row's last tile overlaps the one before (it recomputes the same values); rows
 * narrower than 8 go through a scalar loop.
 */
export function conv2dForwardOneChannel(
  x: usize,
  w: usize,
  y: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  kh: i32,
  kw: i32,
): void {
  if (inC != 1) unreachable(); // the caller checks
  const tapBytes = <usize>outC << 2;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const xRow = x + (<usize>((b * inH + oy) * inW) << 2);
      const yRow = y + (<usize>((b * outH + oy) * outW * outC) << 2);
      if (outW < 8) {
        convolveRowScalar(xRow, w, yRow, inW, outW, kh, kw, outC);
        continue;
      }
      for (let ox0 = 0; ox0 < outW; ox0 += 8) {
        const ox = min(ox0, outW - 8);
        for (let o0 = 0; o0 < outC; o0 += 4) {
          const channels = min(4, outC - o0);
          if (channels == 2) {
            convolveTwoChannels(xRow + (<usize>ox << 2), w + (<usize>o0 << 2), yRow + (<usize>(ox * outC + o0) << 2), inW, kh, kw, outC);
            continue;
          }
          // One pointer per channel walks the taps; a group short of 4 repeats its last channel.
          let w0 = w + (<usize>o0 << 2);
          let w1 = w + (<usize>min(o0 + 1, outC - 1) << 2);
          let w2 = w + (<usize>min(o0 + 2, outC - 1) << 2);
          let w3 = w + (<usize>min(o0 + 3, outC - 1) << 2);
          let a0 = f32x4.splat(0), b0 = f32x4.splat(0);
          let a1 = f32x4.splat(0), b1 = f32x4.splat(0);
          let a2 = f32x4.splat(0), b2 = f32x4.splat(0);
          let a3 = f32x4.splat(0), b3 = f32x4.splat(0);
          for (let r = 0; r < kh; r++) {
            let px = xRow + (<usize>(r * inW + ox) << 2);
            for (let c = 0; c < kw; c++) {
              const low = v128.load(px);
              const high = v128.load(px, 16);
              const s0 = v128.load32_splat(w0);
              const s1 = v128.load32_splat(w1);
              const s2 = v128.load32_splat(w2);
              const s3 = v128.load32_splat(w3);
              a0 = madd(low, s0, a0);
              b0 = madd(high, s0, b0);
              a1 = madd(low, s1, a1);
              b1 = madd(high, s1, b1);
              a2 = madd(low, s2, a2);
              b2 = madd(high, s2, b2);
              a3 = madd(low, s3, a3);
              b3 = madd(high, s3, b3);
              px += 4;
              w0 += tapBytes;
              w1 += tapBytes;
              w2 += tapBytes;
              w3 += tapBytes;
            }
          }
          const to = yRow + (<usize>(ox * outC + o0) << 2);
          storePixels(to, tapBytes, a0, a1, a2, a3, channels);
          storePixels(to + 4 * tapBytes, tapBytes, b0, b1, b2, b3, channels);
        }
      }
    }
  }
}

/**
 * Stores 4 pixels' sums, given as one vector per channel (c0..c3, lanes = pixels), as 4 NHWC pixel
 * rows `pixelBytes` apart, writing `channels` (1 to 4) values to each.
 */
// @ts-ignore: decorator
@inline
function storePixels(to: usize, pixelBytes: usize, c0: v128, c1: v128, c2: v128, c3: v128, channels: i32): void {
  const t0 = i32x4.shuffle(c0, c1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(c0, c1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(c2, c3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(c2, c3, 2, 6, 3, 7);
  storeLanes(to, i32x4.shuffle(t0, t2, 0, 1, 4, 5), channels);
  storeLanes(to + pixelBytes, i32x4.shuffle(t0, t2, 2, 3, 6, 7), channels);
  storeLanes(to + 2 * pixelBytes, i32x4.shuffle(t1, t3, 0, 1, 4, 5), channels);
  storeLanes(to + 3 * pixelBytes, i32x4.shuffle(t1, t3, 2, 3, 6, 7), channels);
}

/** Stores the first `count` (1 to 4) lanes of v at `to`. */
// @ts-ignore: decorator
@inline
function storeLanes(to: usize, v: v128, count: i32): void {
  if (count == 4) v128.store(to, v);
  else if (count == 2) v128.store64_lane(to, v, 0);
  else if (count == 1) v128.store32_lane(to, v, 0);
  else {
    v128.store64_lane(to, v, 0);
    v128.store32_lane(to, v, 2, 8);
  }
}

/**
 * 8 pixels by 2 channels of {@link conv2dForwardOneChannel} (C1's last two of six), so that a
 * group of 2 does not cost as much as a group of 4.
 */
function convolveTwoChannels(x: usize, w: usize, y: usize, inW: i32, kh: i32, kw: i32, outC: i32): void {
  const tapBytes = <usize>outC << 2;
  let w0 = w;
  let a0 = f32x4.splat(0), b0 = f32x4.splat(0);
  let a1 = f32x4.splat(0), b1 = f32x4.splat(0);
  for (let r = 0; r < kh; r++) {
    let px = x + (<usize>(r * inW) << 2);
    for (let c = 0; c < kw; c++) {
      const low = v128.load(px);
      const high = v128.load(px, 16);
      const s0 = v128.load32_splat(w0);
      const s1 = v128.load32_splat(w0, 4);
      a0 = madd(low, s0, a0);
      b0 = madd(high, s0, b0);
      a1 = madd(low, s1, a1);
      b1 = madd(high, s1, b1);
      px += 4;
      w0 += tapBytes;
    }
  }
  // Pixel p's two channels are lanes (p, p + 4) of the interleaved pairs below.
  const lowPairs = i32x4.shuffle(a0, a1, 0, 4, 1, 5);
  const lowPairs2 = i32x4.shuffle(a0, a1, 2, 6, 3, 7);
  const highPairs = i32x4.shuffle(b0, b1, 0, 4, 1, 5);
  const highPairs2 = i32x4.shuffle(b0, b1, 2, 6, 3, 7);
  v128.store64_lane(y, lowPairs, 0);
  v128.store64_lane(y + tapBytes, lowPairs, 1);
  v128.store64_lane(y + 2 * tapBytes, lowPairs2, 0);
  v128.store64_lane(y + 3 * tapBytes, lowPairs2, 1);
  v128.store64_lane(y + 4 * tapBytes, highPairs, 0);
  v128.store64_lane(y + 5 * tapBytes, highPairs, 1);
  v128.store64_lane(y + 6 * tapBytes, highPairs2, 0);
  v128.store64_lane(y + 7 * tapBytes, highPairs2, 1);
}

/** One output row of {@link conv2dForwardOneChannel}, pixel by pixel. */
function convolveRowScalar(xRow: usize, w: usize, yRow: usize, inW: i32, outW: i32, kh: i32, kw: i32, outC: i32): void {
  for (let ox = 0; ox < outW; ox++) {
    for (let o = 0; o < outC; o++) {
      let sum: f32 = 0;
      for (let r = 0; r < kh; r++) {
        for (let c = 0; c < kw; c++) {
          sum += load<f32>(xRow + (<usize>(r * inW + ox + c) << 2)) * load<f32>(w + (<usize>((r * kw + c) * outC + o) << 2));
        }
      }
      store<f32>(yRow + (<usize>(ox * outC + o) << 2), sum);
    }
  }
}


/**
 * y = tanh(conv(x, w) + bias) for a stride-1 NHWC convolution without padding (C3's forward pass),
 * with w HWIO [kh, kw, inC, outC] and outC a multiple of 8. It is the matrix product of the
 * im2col patches with w seen as [kh·kw·inC, outC], without the patches: a patch is kh runs of
 * kw·inC floats that lie side by side in x, one per filter row, so each of 4 pixels reads x through
 * its own pointer, run after run, while 4 by 8 sums stay in registers. The bias and tanh are applied
 * there too, before the one store.
 */
export function conv2dForwardTanh(
  x: usize,
  w: usize,
  bias: usize,
  y: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  kh: i32,
  kw: i32,
): void {
  const pixels = batch * outH * outW;
  const run = kw * inC;
  const xRowBytes = <usize>(inW * inC) << 2;
  const wRowBytes = <usize>outC << 2;
  const yPixelBytes = <usize>outC << 2;
  for (let p0 = 0; p0 < pixels; p0 += 4) {
    // A last group short of 4 repeats its last pixel, and stores only its own.
    const count = min(4, pixels - p0);
    const x0 = patchStart(x, p0, pixels, inH, inW, inC, outH, outW);
    const x1 = patchStart(x, p0 + 1, pixels, inH, inW, inC, outH, outW);
    const x2 = patchStart(x, p0 + 2, pixels, inH, inW, inC, outH, outW);
    const x3 = patchStart(x, p0 + 3, pixels, inH, inW, inC, outH, outW);
    for (let o0 = 0; o0 < outC; o0 += 8) {
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0);
      let s20 = f32x4.splat(0), s21 = f32x4.splat(0);
      let s30 = f32x4.splat(0), s31 = f32x4.splat(0);
      // multiplyTile's loop (matmul.ts), written out once per filter row: an inlined step cannot
      // hand back 8 vectors without going through memory, which is what the tile avoids.
      let pw = w + (<usize>o0 << 2);
      for (let r = 0; r < kh; r++) {
        const rowOffset = <usize>r * xRowBytes;
        let q0 = x0 + rowOffset;
        let q1 = x1 + rowOffset;
        let q2 = x2 + rowOffset;
        let q3 = x3 + rowOffset;
        for (let k = 0; k < run; k++) {
          const c0 = v128.load(pw);
          const c1 = v128.load(pw, 16);
          const v0 = v128.load32_splat(q0);
          const v1 = v128.load32_splat(q1);
          const v2 = v128.load32_splat(q2);
          const v3 = v128.load32_splat(q3);
          s00 = madd(v0, c0, s00);
          s01 = madd(v0, c1, s01);
          s10 = madd(v1, c0, s10);
          s11 = madd(v1, c1, s11);
          s20 = madd(v2, c0, s20);
          s21 = madd(v2, c1, s21);
          s30 = madd(v3, c0, s30);
          s31 = madd(v3, c1, s31);
          q0 += 4;
          q1 += 4;
          q2 += 4;
          q3 += 4;
          pw += wRowBytes;
        }
      }
      const b0 = v128.load(bias + (<usize>o0 << 2));
      const b1 = v128.load(bias + (<usize>o0 << 2), 16);
      const to = y + <usize>p0 * yPixelBytes + (<usize>o0 << 2);
      storeTanh(to, b0, b1, s00, s01);
      if (count > 1) storeTanh(to + yPixelBytes, b0, b1, s10, s11);
      if (count > 2) storeTanh(to + 2 * yPixelBytes, b0, b1, s20, s21);
      if (count > 3) storeTanh(to + 3 * yPixelBytes, b0, b1, s30, s31);
    }
  }
}

/** Stores tanh(low + b0) and tanh(high + b1) as 8 floats at `to`. */
// @ts-ignore: decorator
@inline
function storeTanh(to: usize, b0: v128, b1: v128, low: v128, high: v128): void {
  v128.store(to, tanh4(f32x4.add(low, b0)));
  v128.store(to, tanh4(f32x4.add(high, b1)), 16);
}

/** Byte address in x of output pixel p's patch (its window's top-left input pixel), p clamped to the last. */
// @ts-ignore: decorator
@inline
function patchStart(x: usize, p: i32, pixels: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32): usize {
  const q = min(p, pixels - 1);
  const perImage = outH * outW;
  const b = q / perImage;
  const oy = (q % perImage) / outW;
  const ox = q % outW;
  return x + (<usize>(((b * inH + oy) * inW + ox) * inC) << 2);
}


/**
 * The filter gradient of a stride-1 NHWC convolution without padding:
 *   dW[r, c, i, o] = Σ over b, y, x of  x[b, y+r, x+c, i] · dy[b, y, x, o].
 * Seen as a matrix product, row m = (r, c, i) of dW reads x at a fixed offset from the pixel
 * (b, y, x) a column of dy belongs to, so no im2col copy is needed. The pixels go by in chunks of a
 * few output rows that stay in the L1 cache; for each chunk every 4 (m) by 8 (o) tile of dW sums in
 * registers, starting from and returning to `sums`.
 * `dyPadded` holds dy with its rows padded to `paddedChannels` (a multiple of 8) by {@link padRows};
 * `sums` is scratch for ceil(rowsOfW / 4) * 4 * paddedChannels floats. dW is HWIO [kh, kw, inC, outC].
 */
export function conv2dFilterGradient(
  x: usize,
  dyPadded: usize,
  dw: usize,
  sums: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  paddedChannels: i32,
  kw: i32,
  rowsOfW: i32,
): void {
  const paddedRows = (rowsOfW + 3) & ~3;
  memory.fill(sums, 0, <usize>(paddedRows * paddedChannels) << 2);
  // Chunks of about 128 pixels (whole output rows, across images where rows are short): their dy
  // rows and the x rows they read stay in L1 while every tile of dW passes over them.
  const rows = batch * outH;
  const rowsPerChunk = max(1, 128 / outW);
  for (let g0 = 0; g0 < rows; g0 += rowsPerChunk) {
    const chunkRows = min(rows - g0, rowsPerChunk);
    for (let m0 = 0; m0 < paddedRows; m0 += 4) {
      // Offsets of rows m0..m0+3 of dW within x, relative to pixel (b, y, x); a tile that runs
      // past the last row repeats it, and its extra sums are never copied out.
      const off0 = offsetInInput(m0, rowsOfW, kw, inC, inW);
      const off1 = offsetInInput(m0 + 1, rowsOfW, kw, inC, inW);
      const off2 = offsetInInput(m0 + 2, rowsOfW, kw, inC, inW);
      const off3 = offsetInInput(m0 + 3, rowsOfW, kw, inC, inW);
      for (let o0 = 0; o0 < paddedChannels; o0 += 8) {
        accumulateTile(
          sums + (<usize>(m0 * paddedChannels + o0) << 2),
          <usize>paddedChannels << 2,
          x,
          <usize>(inH * inW * inC) << 2,
          <usize>(inW * inC) << 2,
          <usize>inC << 2,
          dyPadded + (<usize>(g0 * outW * paddedChannels + o0) << 2),
          g0,
          chunkRows,
          outH,
          outW,
          off0,
          off1,
          off2,
          off3,
        );
      }
    }
  }
  unpadRows(sums, dw, rowsOfW, paddedChannels, outC);
}

/**
 * Adds the pixels of output rows firstRow.. (counted across images) to a 4 by 8 tile of sums (rows `rowStride` bytes apart): for each pixel,
 * four x values (at the four byte offsets from the pixel's place in x) times eight dy values.
 * One pointer per x row walks the pixels: V8 keeps these in registers, where adding four
 * offsets to one pointer made the loop much slower.
 */
function accumulateTile(
  tile: usize,
  rowStride: usize,
  x: usize,
  xImageStride: usize,
  xRowStride: usize,
  xPixelStride: usize,
  dy: usize,
  firstRow: i32,
  rows: i32,
  rowsPerImage: i32,
  pixelsPerRow: i32,
  off0: usize,
  off1: usize,
  off2: usize,
  off3: usize,
): void {
  let a00 = v128.load(tile), a01 = v128.load(tile, 16);
  let a10 = v128.load(tile + rowStride), a11 = v128.load(tile + rowStride, 16);
  let a20 = v128.load(tile + 2 * rowStride), a21 = v128.load(tile + 2 * rowStride, 16);
  let a30 = v128.load(tile + 3 * rowStride), a31 = v128.load(tile + 3 * rowStride, 16);
  let pd = dy;
  for (let g = firstRow; g < firstRow + rows; g++) {
    // Output row g is row y of image b; dy's rows follow one another, x's skip the rows below.
    const row = x + <usize>(g / rowsPerImage) * xImageStride + <usize>(g % rowsPerImage) * xRowStride;
    let p0 = row + off0;
    let p1 = row + off1;
    let p2 = row + off2;
    let p3 = row + off3;
    for (let i = 0; i < pixelsPerRow; i++) {
      const d0 = v128.load(pd);
      const d1 = v128.load(pd, 16);
      const s0 = v128.load32_splat(p0);
      const s1 = v128.load32_splat(p1);
      const s2 = v128.load32_splat(p2);
      const s3 = v128.load32_splat(p3);
      a00 = madd(s0, d0, a00);
      a01 = madd(s0, d1, a01);
      a10 = madd(s1, d0, a10);
      a11 = madd(s1, d1, a11);
      a20 = madd(s2, d0, a20);
      a21 = madd(s2, d1, a21);
      a30 = madd(s3, d0, a30);
      a31 = madd(s3, d1, a31);
      p0 += xPixelStride;
      p1 += xPixelStride;
      p2 += xPixelStride;
      p3 += xPixelStride;
      pd += rowStride;
    }
  }
  v128.store(tile, a00);
  v128.store(tile, a01, 16);
  v128.store(tile + rowStride, a10);
  v128.store(tile + rowStride, a11, 16);
  v128.store(tile + 2 * rowStride, a20);
  v128.store(tile + 2 * rowStride, a21, 16);
  v128.store(tile + 3 * rowStride, a30);
  v128.store(tile + 3 * rowStride, a31, 16);
}

/** Byte offset in x of row m of dW (m = (r * kw + c) * inC + i), clamped to the last row. */
// @ts-ignore: decorator
@inline
function offsetInInput(m: i32, rowsOfW: i32, kw: i32, inC: i32, inW: i32): usize {
  const row = min(m, rowsOfW - 1);
  const i = row % inC;
  const c = (row / inC) % kw;
  const r = row / (inC * kw);
  return <usize>((r * inW + c) * inC + i) << 2;
}


/**
 * The filter gradient of a stride-1 convolution without padding of a one-channel input by 5-wide
 * filters (C1's), from a planar output gradient dy [batch, outC, outH, outW]:
 *   dW[r, c, 0, o] = Σ over b, y, x of x[b, y + r, x + c] · dy[b, o, y, x].
 * {@link conv2dFilterGradient} would pad its one input channel's 25 taps to 28 and C1's 6 output
 * channels to 8; here vectors run over 4 neighbouring output pixels, so no lane is padding. For each
 * filter row r and pair of output channels, 5 (c) by 2 (o) vectors of sums stay in registers while one
 * image's pixels go by (its x and dy stay in L1); their lanes are added up at the end. outW must be a
 * multiple of 4. `sums` is scratch for kh · 10 · ceil(outC / 2) · 4 floats. dW is HWIO [kh, 5, 1, outC].
 */
export function conv2dFilterGradientOneChannel(
  x: usize,
  dy: usize,
  dw: usize,
  sums: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  kh: i32,
  kw: i32,
): void {
  if (kw != 5 || (outW & 3) != 0) unreachable(); // the caller checks
  const pairs = (outC + 1) >> 1;
  memory.fill(sums, 0, <usize>(kh * pairs * 10) << 4);
  const planeBytes = <usize>(outH * outW) << 2;
  const rowSkip = <usize>(inW - outW) << 2;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < kh; r++) {
      for (let pair = 0; pair < pairs; pair++) {
        // An odd last channel pairs with itself; the copy's sums are never read.
        const o0 = pair * 2;
        const o1 = min(o0 + 1, outC - 1);
        const tile = sums + (<usize>((r * pairs + pair) * 10) << 4);
        let a0 = v128.load(tile), a1 = v128.load(tile, 16), a2 = v128.load(tile, 32);
        let a3 = v128.load(tile, 48), a4 = v128.load(tile, 64);
        let b0 = v128.load(tile, 80), b1 = v128.load(tile, 96), b2 = v128.load(tile, 112);
        let b3 = v128.load(tile, 128), b4 = v128.load(tile, 144);
        let px = x + (<usize>((b * inH + r) * inW) << 2);
        let d0 = dy + <usize>(b * outC + o0) * planeBytes;
        let d1 = dy + <usize>(b * outC + o1) * planeBytes;
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox += 4) {
            const g0 = v128.load(d0);
            const g1 = v128.load(d1);
            let v = v128.load(px);
            a0 = madd(v, g0, a0);
            b0 = madd(v, g1, b0);
            v = v128.load(px, 4);
            a1 = madd(v, g0, a1);
            b1 = madd(v, g1, b1);
            v = v128.load(px, 8);
            a2 = madd(v, g0, a2);
            b2 = madd(v, g1, b2);
            v = v128.load(px, 12);
            a3 = madd(v, g0, a3);
            b3 = madd(v, g1, b3);
            v = v128.load(px, 16);
            a4 = madd(v, g0, a4);
            b4 = madd(v, g1, b4);
            px += 16;
            d0 += 16;
            d1 += 16;
          }
          px += rowSkip;
        }
        v128.store(tile, a0);
        v128.store(tile, a1, 16);
        v128.store(tile, a2, 32);
        v128.store(tile, a3, 48);
        v128.store(tile, a4, 64);
        v128.store(tile, b0, 80);
        v128.store(tile, b1, 96);
        v128.store(tile, b2, 112);
        v128.store(tile, b3, 128);
        v128.store(tile, b4, 144);
      }
    }
  }
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < 5; c++) {
      for (let o = 0; o < outC; o++) {
        const tile = sums + (<usize>((r * pairs + (o >> 1)) * 10) << 4);
        const sum = laneSum(v128.load(tile + (<usize>((o & 1) * 5 + c) << 4)));
        store<f32>(dw + (<usize>((r * 5 + c) * outC + o) << 2), sum);
      }
    }
  }
}

/**
 * Lays out an HWIO filter [kh, kw, inC, outC] for {@link conv2dInputGradient}: for each filter row r,
 * a matrix [outC, run] with run = kw * inC, rows padded with zeros to `paddedRun` (a multiple of 8):
 * wt[r, o, c * inC + i] = w[r, c, i, o].
 */
export function filterRowsByOutput(w: usize, wt: usize, kh: i32, kw: i32, inC: i32, outC: i32, paddedRun: i32): void {
  const run = kw * inC;
  for (let r = 0; r < kh; r++) {
    for (let o = 0; o < outC; o++) {
      const row = wt + (<usize>((r * outC + o) * paddedRun) << 2);
      for (let j = 0; j < run; j++) {
        store<f32>(row + (<usize>j << 2), load<f32>(w + (<usize>((r * run + j) * outC + o) << 2)));
      }
      for (let j = run; j < paddedRun; j++) store<f32>(row + (<usize>j << 2), 0);
    }
  }
}

/**
 * The input gradient of a stride-1 NHWC convolution without padding, by scattering: each output
 * pixel p adds, for each filter row r, the vector dy[p, :] · wt[r] to the kw * inC values of dx that
 * the forward pass read side by side, dx[b, y + r, x .. x + kw, :]. A pass computes 4 pixels (one
 * from each of 4 output rows) by 8 of those values in registers, summing over the output channels,
 * then adds them to dx. Nothing is multiplied by padding, unlike the usual full convolution of a
 * padded dy.
 * `wt` comes from {@link filterRowsByOutput}; `dx` needs room for `paddedRun - run` floats past its
 * end (the padded columns add zeros there). This zeroes it first.
 */
export function conv2dInputGradient(
  dy: usize,
  wt: usize,
  dx: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  kh: i32,
  paddedRun: i32,
): void {
  memory.fill(dx, 0, (<usize>(batch * inH * inW * inC + paddedRun) << 2));
  const dxRowBytes = <usize>(inW * inC) << 2;
  const wtRowBytes = <usize>paddedRun << 2;
  const dyPixelBytes = <usize>outC << 2;
  // A pass takes one pixel from each of 4 output rows (counted across images), not 4 neighbours in
  // a row: neighbours' windows overlap, so each add to dx would read what the one before had just
  // stored at another offset, which stalls the CPU (no store-to-load forwarding). A short last
  // group repeats its last row.
  const rows = batch * outH;
  const pixelStep = <usize>inC << 2;
  for (let g0 = 0; g0 < rows; g0 += 4) {
    const count = min(4, rows - g0);
    const g1 = min(g0 + 1, rows - 1);
    const g2 = min(g0 + 2, rows - 1);
    const g3 = min(g0 + 3, rows - 1);
    let x0 = dx + <usize>((g0 / outH) * inH + (g0 % outH)) * dxRowBytes;
    let x1 = dx + <usize>((g1 / outH) * inH + (g1 % outH)) * dxRowBytes;
    let x2 = dx + <usize>((g2 / outH) * inH + (g2 % outH)) * dxRowBytes;
    let x3 = dx + <usize>((g3 / outH) * inH + (g3 % outH)) * dxRowBytes;
    let d0 = dy + <usize>(g0 * outW) * dyPixelBytes;
    let d1 = dy + <usize>(g1 * outW) * dyPixelBytes;
    let d2 = dy + <usize>(g2 * outW) * dyPixelBytes;
    let d3 = dy + <usize>(g3 * outW) * dyPixelBytes;
    for (let ox = 0; ox < outW; ox++) {
    for (let r = 0; r < kh; r++) {
      const rowOffset = <usize>r * dxRowBytes;
      for (let j0 = 0; j0 < paddedRun; j0 += 8) {
        // multiplyTile's loop, written out: its sums go straight from registers into dx, which
        // matters here, where each tile sums over only outC (16) steps.
        let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
        let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
        let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
        let pw = wt + (<usize>(r * outC * paddedRun + j0) << 2);
        let q0 = d0;
        let q1 = d1;
        let q2 = d2;
        let q3 = d3;
        for (let o = 0; o < outC; o++) {
          const c0 = v128.load(pw);
          const c1 = v128.load(pw, 16);
          const s0 = v128.load32_splat(q0);
          const s1 = v128.load32_splat(q1);
          const s2 = v128.load32_splat(q2);
          const s3 = v128.load32_splat(q3);
          a00 = madd(s0, c0, a00);
          a01 = madd(s0, c1, a01);
          a10 = madd(s1, c0, a10);
          a11 = madd(s1, c1, a11);
          a20 = madd(s2, c0, a20);
          a21 = madd(s2, c1, a21);
          a30 = madd(s3, c0, a30);
          a31 = madd(s3, c1, a31);
          q0 += 4;
          q1 += 4;
          q2 += 4;
          q3 += 4;
          pw += wtRowBytes;
        }
        const column = rowOffset + (<usize>j0 << 2);
        addTo(x0 + column, a00, a01);
        if (count > 1) addTo(x1 + column, a10, a11);
        if (count > 2) addTo(x2 + column, a20, a21);
        if (count > 3) addTo(x3 + column, a30, a31);
      }
    }
    x0 += pixelStep;
    x1 += pixelStep;
    x2 += pixelStep;
    x3 += pixelStep;
    d0 += dyPixelBytes;
    d1 += dyPixelBytes;
    d2 += dyPixelBytes;
    d3 += dyPixelBytes;
    }
  }
}

/** Adds two vectors to the 8 floats at `at` (unaligned). */
// @ts-ignore: decorator
@inline
function addTo(at: usize, low: v128, high: v128): void {
  v128.store(at, f32x4.add(v128.load(at), low));
  v128.store(at, f32x4.add(v128.load(at, 16), high), 16);
}
