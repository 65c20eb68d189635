// WebAssembly SIMD kernels for the layers LeNet-5 spends its time in, compiled with AssemblyScript
// (`pnpm --filter @lenet/node build:wasm`). The module imports the tfjs wasm backend's own memory,
// so every pointer here is a tensor's offset in that heap: no copies in or out. It allocates
// nothing and holds no data of its own; scratch space comes from the backend's malloc.

// ---- tanh -------------------------------------------------------------------------------------

const LOG2E: f32 = 1.4426950408889634;
// ln 2 split in two so that n * LN2_HI is exact for the n we meet (Cody and Waite).
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

/** e^z for z in [-18, 0], to about 1e-7 relative: 2^n times a degree-7 Taylor polynomial of r. */
// @ts-ignore: decorator
@inline
function expNonPositive(z: v128): v128 {
  const n = f32x4.nearest(f32x4.mul(z, f32x4.splat(LOG2E)));
  let r = f32x4.sub(z, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.0 / 5040.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 720.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  // 2^n through the exponent bits; n >= -26 keeps it a normal number.
  const twoToN = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, twoToN);
}

/** tanh of four lanes. Odd Taylor series below |x| = 1/8, (1 - e^-2|x|) / (1 + e^-2|x|) above. */
// @ts-ignore: decorator
@inline
function tanh4(x: v128): v128 {
  const signBit = v128.and(x, i32x4.splat(0x80000000));
  // tanh(9) rounds to 1 in float32; clamping keeps e^-2|x| a normal number.
  const a = f32x4.min(f32x4.abs(x), f32x4.splat(9.0));
  const e = expNonPositive(f32x4.mul(a, f32x4.splat(-2.0)));
  const one = f32x4.splat(1.0);
  const large = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  const a2 = f32x4.mul(a, a);
  let s = f32x4.splat(-17.0 / 315.0);
  s = f32x4.add(f32x4.mul(s, a2), f32x4.splat(2.0 / 15.0));
  s = f32x4.add(f32x4.mul(s, a2), f32x4.splat(-1.0 / 3.0));
  s = f32x4.add(f32x4.mul(s, a2), one);
  const small = f32x4.mul(s, a);
  const t = v128.bitselect(small, large, f32x4.lt(a, f32x4.splat(0.125)));
  return v128.or(t, signBit);
}

/** y[k] = tanh(x[k]) for k < n. y may be x. */
export function tanh(x: usize, y: usize, n: i32): void {
  const vectorEnd = n & ~3;
  let k = 0;
  for (; k < vectorEnd; k += 4) {
    v128.store(y + (<usize>k << 2), tanh4(v128.load(x + (<usize>k << 2))));
  }
  // The last n % 4 values: load them into a vector and store lane by lane.
  if (k < n) {
    let v = f32x4.splat(0);
    for (let j = k; j < n; j++) {
      const lane = load<f32>(x + (<usize>j << 2));
      if (j - k == 0) v = f32x4.replace_lane(v, 0, lane);
      else if (j - k == 1) v = f32x4.replace_lane(v, 1, lane);
      else v = f32x4.replace_lane(v, 2, lane);
    }
    const t = tanh4(v);
    store<f32>(y + (<usize>k << 2), f32x4.extract_lane(t, 0));
    if (k + 1 < n) store<f32>(y + (<usize>(k + 1) << 2), f32x4.extract_lane(t, 1));
    if (k + 2 < n) store<f32>(y + (<usize>(k + 2) << 2), f32x4.extract_lane(t, 2));
  }
}

// ---- average pooling gradient -------------------------------------------------------------------

/**
 * The gradient of an average pool whose windows tile the input without overlap or padding
 * (stride = window, as in LeNet's S2 and S4): each dy value, divided by the window's size, is
 * copied to every input position of its window. dy is NHWC [batch, outH, outW, channels], dx NHWC
 * [batch, inH, inW, channels]; rows and columns no window covers get zero.
 */
export function avgPoolGradTiled(
  dy: usize,
  dx: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  outH: i32,
  outW: i32,
  channels: i32,
  windowH: i32,
  windowW: i32,
): void {
  if (outH * windowH != inH || outW * windowW != inW) memory.fill(dx, 0, <usize>(batch * inH * inW * channels) << 2);
  const scale = f32x4.splat(1.0 / <f32>(windowH * windowW));
  const vectorEnd = channels & ~3;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const from = dy + (<usize>(((b * outH + y) * outW + x) * channels) << 2);
        for (let i = 0; i < windowH; i++) {
          for (let j = 0; j < windowW; j++) {
            const to = dx + (<usize>(((b * inH + y * windowH + i) * inW + x * windowW + j) * channels) << 2);
            let c = 0;
            for (; c < vectorEnd; c += 4) {
              v128.store(to + (<usize>c << 2), f32x4.mul(v128.load(from + (<usize>c << 2)), scale));
            }
            for (; c < channels; c++) {
              store<f32>(to + (<usize>c << 2), load<f32>(from + (<usize>c << 2)) * f32x4.extract_lane(scale, 0));
            }
          }
        }
      }
    }
  }
}

// ---- convolution filter gradient ----------------------------------------------------------------

/** Copies rows of `channels` floats into rows of `paddedChannels` (a multiple of 8), zero-filled. */
export function padRows(from: usize, to: usize, rows: i32, channels: i32, paddedChannels: i32): void {
  // Plain loops: memory.copy and memory.fill are calls into the engine, too dear for short rows.
  let src = from;
  let dst = to;
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (; c < channels; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
    for (; c < paddedChannels; c++) store<f32>(dst + (<usize>c << 2), 0);
    src += <usize>channels << 2;
    dst += <usize>paddedChannels << 2;
  }
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
  for (let m = 0; m < rowsOfW; m++) {
    memory.copy(dw + (<usize>(m * outC) << 2), sums + (<usize>(m * paddedChannels) << 2), <usize>outC << 2);
  }
}

/**
 * Adds the pixels of output rows firstRow.. (counted across images) to a 4 by 8 tile of sums (rows `rowStride` bytes apart): for each pixel,
 * four x values (at the four byte offsets from the pixel's place in x) times eight dy values.
 * One pointer per x row walks the pixels: V8 keeps these in registers, where adding four
 * offsets to one pointer made the loop about 3x slower.
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
      a00 = f32x4.add(a00, f32x4.mul(s0, d0));
      a01 = f32x4.add(a01, f32x4.mul(s0, d1));
      a10 = f32x4.add(a10, f32x4.mul(s1, d0));
      a11 = f32x4.add(a11, f32x4.mul(s1, d1));
      a20 = f32x4.add(a20, f32x4.mul(s2, d0));
      a21 = f32x4.add(a21, f32x4.mul(s2, d1));
      a30 = f32x4.add(a30, f32x4.mul(s3, d0));
      a31 = f32x4.add(a31, f32x4.mul(s3, d1));
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

// ---- convolution input gradient -----------------------------------------------------------------

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
 * the forward pass read side by side, dx[b, y + r, x .. x + kw, :]. A pass computes 4 pixels by 8 of
 * those values in registers, summing over the output channels, then adds them to dx one pixel after
 * the other (their windows overlap). Nothing is multiplied by padding, unlike the usual full
 * convolution of a padded dy.
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
  const pixels = batch * outH * outW;
  const dxRowBytes = <usize>(inW * inC) << 2;
  const wtRowBytes = <usize>paddedRun << 2;
  const dyPixelBytes = <usize>outC << 2;
  for (let p0 = 0; p0 < pixels; p0 += 4) {
    const x0 = windowStart(dx, p0, pixels, inH, inW, inC, outH, outW);
    const x1 = windowStart(dx, p0 + 1, pixels, inH, inW, inC, outH, outW);
    const x2 = windowStart(dx, p0 + 2, pixels, inH, inW, inC, outH, outW);
    const x3 = windowStart(dx, p0 + 3, pixels, inH, inW, inC, outH, outW);
    const d0 = dy + <usize>min(p0, pixels - 1) * dyPixelBytes;
    const d1 = dy + <usize>min(p0 + 1, pixels - 1) * dyPixelBytes;
    const d2 = dy + <usize>min(p0 + 2, pixels - 1) * dyPixelBytes;
    const d3 = dy + <usize>min(p0 + 3, pixels - 1) * dyPixelBytes;
    const count = min(4, pixels - p0);
    for (let r = 0; r < kh; r++) {
      const rowOffset = <usize>r * dxRowBytes;
      for (let j0 = 0; j0 < paddedRun; j0 += 8) {
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
          a00 = f32x4.add(a00, f32x4.mul(s0, c0));
          a01 = f32x4.add(a01, f32x4.mul(s0, c1));
          a10 = f32x4.add(a10, f32x4.mul(s1, c0));
          a11 = f32x4.add(a11, f32x4.mul(s1, c1));
          a20 = f32x4.add(a20, f32x4.mul(s2, c0));
          a21 = f32x4.add(a21, f32x4.mul(s2, c1));
          a30 = f32x4.add(a30, f32x4.mul(s3, c0));
          a31 = f32x4.add(a31, f32x4.mul(s3, c1));
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
  }
}

/** Adds two vectors to the 8 floats at `at` (unaligned). */
// @ts-ignore: decorator
@inline
function addTo(at: usize, low: v128, high: v128): void {
  v128.store(at, f32x4.add(v128.load(at), low));
  v128.store(at, f32x4.add(v128.load(at, 16), high), 16);
}

/** Byte address in x of output pixel p's window (its top-left input pixel), p clamped to the last. */
// @ts-ignore: decorator
@inline
function windowStart(x: usize, p: i32, pixels: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32): usize {
  const q = min(p, pixels - 1);
  const perImage = outH * outW;
  const b = q / perImage;
  const y = (q % perImage) / outW;
  const xx = q % outW;
  return x + (<usize>(((b * inH + y) * inW + xx) * inC) << 2);
}
