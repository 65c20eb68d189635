// WebAssembly SIMD kernels for the layers LeNet-5 spends its time in, compiled with AssemblyScript
// (`pnpm --filter @lenet/node build:wasm`). The module imports the tfjs wasm backend's own memory,
// so every pointer here is a tensor's offset in that heap: no copies in or out. It allocates
// nothing and holds no data of its own; scratch space comes from the backend's malloc.

// ---- tanh -------------------------------------------------------------------------------------

// tanh(x) ≈ x · P(x²) / Q(x²) on [-9, 9], a rational function fitted for this kernel (least squares
// on the relative error, reweighted toward its peaks): within 4e-7 relative of tanh in float32,
// and exactly ±1 at ±9, where float32 tanh has already rounded to ±1.
const P0: f32 = 1.0;
const P1: f32 = 0.13380955159664154;
const P2: f32 = 0.003495508572086692;
const P3: f32 = 2.0607878468581475e-5;
const P4: f32 = 1.3353083083700312e-8;
const Q1: f32 = 0.4671427011489868;
const Q2: f32 = 0.025876671075820923;
const Q3: f32 = 0.000328550988342613;
const Q4: f32 = 7.775898325235175e-7;

/** tanh of four lanes (NaN stays NaN, ±Infinity gives ±1, -0 stays -0). */
// @ts-ignore: decorator
@inline
function tanh4(x: v128): v128 {
  const a = f32x4.max(f32x4.min(x, f32x4.splat(9.0)), f32x4.splat(-9.0));
  const u = f32x4.mul(a, a);
  let p = f32x4.splat(P4);
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(P0));
  let q = f32x4.splat(Q4);
  q = f32x4.add(f32x4.mul(q, u), f32x4.splat(Q3));
  q = f32x4.add(f32x4.mul(q, u), f32x4.splat(Q2));
  q = f32x4.add(f32x4.mul(q, u), f32x4.splat(Q1));
  q = f32x4.add(f32x4.mul(q, u), f32x4.splat(1.0));
  return f32x4.div(f32x4.mul(a, p), q);
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
  unpadRows(sums, dw, rowsOfW, paddedChannels, outC);
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

// ---- sums over all axes but the last (bias gradients) --------------------------------------------

/**
 * out[c] = Σ over r of x[r, c], for x [rows, channels]: the gradient of a bias added to every pixel.
 * Four rows at a time into four sums per 4 channels (independent chains, and shorter ones, which
 * also keeps float32 rounding down), then the leftover rows and the channels past the last 4.
 */
export function sumRows(x: usize, out: usize, rows: i32, channels: i32): void {
  const rowBytes = <usize>channels << 2;
  const vectorEnd = channels & ~3;
  const rowsBy4 = rows & ~3;
  for (let c = 0; c < vectorEnd; c += 4) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = x + (<usize>c << 2);
    for (let r = 0; r < rowsBy4; r += 4) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p + rowBytes));
      s2 = f32x4.add(s2, v128.load(p + 2 * rowBytes));
      s3 = f32x4.add(s3, v128.load(p + 3 * rowBytes));
      p += 4 * rowBytes;
    }
    for (let r = rowsBy4; r < rows; r++) {
      s0 = f32x4.add(s0, v128.load(p));
      p += rowBytes;
    }
    v128.store(out + (<usize>c << 2), f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  }
  for (let c = vectorEnd; c < channels; c++) {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    let p = x + (<usize>c << 2);
    for (let r = 0; r < rowsBy4; r += 4) {
      s0 += load<f32>(p);
      s1 += load<f32>(p + rowBytes);
      s2 += load<f32>(p + 2 * rowBytes);
      s3 += load<f32>(p + 3 * rowBytes);
      p += 4 * rowBytes;
    }
    for (let r = rowsBy4; r < rows; r++) {
      s0 += load<f32>(p);
      p += rowBytes;
    }
    store<f32>(out + (<usize>c << 2), s0 + s1 + (s2 + s3));
  }
}

// ---- average pooling ------------------------------------------------------------------------------

/**
 * An average pool whose windows tile the input (stride = window, no padding): y is NHWC [batch, outH,
 * outW, channels], x NHWC [batch, inH, inW, channels]; rows and columns past the last window are
 * not read.
 */
export function avgPoolTiled(
  x: usize,
  y: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  outH: i32,
  outW: i32,
  channels: i32,
  windowH: i32,
  windowW: i32,
): void {
  const scale: f32 = 1.0 / <f32>(windowH * windowW);
  const scales = f32x4.splat(scale);
  const vectorEnd = channels & ~3;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const to = y + (<usize>(((b * outH + oy) * outW + ox) * channels) << 2);
        const corner = x + (<usize>(((b * inH + oy * windowH) * inW + ox * windowW) * channels) << 2);
        let c = 0;
        for (; c < vectorEnd; c += 4) {
          let sum = f32x4.splat(0);
          for (let i = 0; i < windowH; i++) {
            let p = corner + (<usize>((i * inW) * channels + c) << 2);
            for (let j = 0; j < windowW; j++) {
              sum = f32x4.add(sum, v128.load(p));
              p += <usize>channels << 2;
            }
          }
          v128.store(to + (<usize>c << 2), f32x4.mul(sum, scales));
        }
        for (; c < channels; c++) {
          let sum: f32 = 0;
          for (let i = 0; i < windowH; i++) {
            for (let j = 0; j < windowW; j++) {
              sum += load<f32>(corner + (<usize>(((i * inW) + j) * channels + c) << 2));
            }
          }
          store<f32>(to + (<usize>c << 2), sum * scale);
        }
      }
    }
  }
}

// ---- matrix product -------------------------------------------------------------------------------

/** to[k, j] = from[j, k] for from [rows, cols], each row of `to` padded with zeros to `paddedRows`. */
export function transposePadded(from: usize, to: usize, rows: i32, cols: i32, paddedRows: i32): void {
  for (let k = 0; k < cols; k++) {
    const row = to + (<usize>(k * paddedRows) << 2);
    for (let j = 0; j < rows; j++) store<f32>(row + (<usize>j << 2), load<f32>(from + (<usize>(j * cols + k) << 2)));
    for (let j = rows; j < paddedRows; j++) store<f32>(row + (<usize>j << 2), 0);
  }
}

/**
 * c[i, j] = Σ over k of a(i, k) · b[k, j], with a(i, k) at a + i * aRowStride + k * aColStride
 * (bytes), so that a may be stored transposed; b is [depth, paddedCols] with paddedCols a multiple
 * of 8, and c is written [rows, paddedCols]. Tiles of 4 rows by 8 columns stay in registers
 * ({@link multiplyTile}); a last tile short of 4 rows repeats the last row. `tile` is scratch for
 * 32 floats.
 */
export function matmul(
  a: usize,
  aRowStride: usize,
  aColStride: usize,
  b: usize,
  c: usize,
  rows: i32,
  depth: i32,
  paddedCols: i32,
  tile: usize,
): void {
  const bRowBytes = <usize>paddedCols << 2;
  const last = rows - 1;
  for (let i0 = 0; i0 < rows; i0 += 4) {
    const r0 = a + <usize>min(i0, last) * aRowStride;
    const r1 = a + <usize>min(i0 + 1, last) * aRowStride;
    const r2 = a + <usize>min(i0 + 2, last) * aRowStride;
    const r3 = a + <usize>min(i0 + 3, last) * aRowStride;
    for (let j0 = 0; j0 < paddedCols; j0 += 8) {
      multiplyTile(r0, r1, r2, r3, aColStride, b + (<usize>j0 << 2), bRowBytes, depth, tile);
      const t0 = c + (<usize>(min(i0, last) * paddedCols + j0) << 2);
      const t1 = c + (<usize>(min(i0 + 1, last) * paddedCols + j0) << 2);
      const t2 = c + (<usize>(min(i0 + 2, last) * paddedCols + j0) << 2);
      const t3 = c + (<usize>(min(i0 + 3, last) * paddedCols + j0) << 2);
      // Rows repeated at the end write the same values twice.
      copyEight(t0, tile);
      copyEight(t1, tile + 32);
      copyEight(t2, tile + 64);
      copyEight(t3, tile + 96);
    }
  }
}

/** Copies 8 floats. */
// @ts-ignore: decorator
@inline
function copyEight(to: usize, from: usize): void {
  v128.store(to, v128.load(from));
  v128.store(to, v128.load(from, 16), 16);
}

/**
 * The register tile the matrix products here are built on: `steps` times, four values (one from
 * each of a0..a3, pointers that move `aStep` bytes a step) times eight (from b, which moves `bStep`
 * bytes), summed into 4 x 8 results, written to `out` as four rows of 8 floats. The four moving
 * pointers matter: V8 keeps them in registers, where one pointer plus four offsets made such a loop
 * about 3x slower.
 */
function multiplyTile(
  a0: usize,
  a1: usize,
  a2: usize,
  a3: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  steps: i32,
  out: usize,
): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0), s21 = f32x4.splat(0);
  let s30 = f32x4.splat(0), s31 = f32x4.splat(0);
  let q0 = a0;
  let q1 = a1;
  let q2 = a2;
  let q3 = a3;
  let pb = b;
  for (let k = 0; k < steps; k++) {
    const c0 = v128.load(pb);
    const c1 = v128.load(pb, 16);
    const v0 = v128.load32_splat(q0);
    const v1 = v128.load32_splat(q1);
    const v2 = v128.load32_splat(q2);
    const v3 = v128.load32_splat(q3);
    s00 = f32x4.add(s00, f32x4.mul(v0, c0));
    s01 = f32x4.add(s01, f32x4.mul(v0, c1));
    s10 = f32x4.add(s10, f32x4.mul(v1, c0));
    s11 = f32x4.add(s11, f32x4.mul(v1, c1));
    s20 = f32x4.add(s20, f32x4.mul(v2, c0));
    s21 = f32x4.add(s21, f32x4.mul(v2, c1));
    s30 = f32x4.add(s30, f32x4.mul(v3, c0));
    s31 = f32x4.add(s31, f32x4.mul(v3, c1));
    q0 += aStep;
    q1 += aStep;
    q2 += aStep;
    q3 += aStep;
    pb += bStep;
  }
  v128.store(out, s00);
  v128.store(out, s01, 16);
  v128.store(out, s10, 32);
  v128.store(out, s11, 48);
  v128.store(out, s20, 64);
  v128.store(out, s21, 80);
  v128.store(out, s30, 96);
  v128.store(out, s31, 112);
}

/** Copies rows of `paddedChannels` floats into rows of their first `channels` floats. */
export function unpadRows(from: usize, to: usize, rows: i32, paddedChannels: i32, channels: i32): void {
  let src = from;
  let dst = to;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
    src += <usize>paddedChannels << 2;
    dst += <usize>channels << 2;
  }
}

// ---- convolution of a one-channel input (LeNet's C1) ----------------------------------------------

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
              a0 = f32x4.add(a0, f32x4.mul(low, s0));
              b0 = f32x4.add(b0, f32x4.mul(high, s0));
              a1 = f32x4.add(a1, f32x4.mul(low, s1));
              b1 = f32x4.add(b1, f32x4.mul(high, s1));
              a2 = f32x4.add(a2, f32x4.mul(low, s2));
              b2 = f32x4.add(b2, f32x4.mul(high, s2));
              a3 = f32x4.add(a3, f32x4.mul(low, s3));
              b3 = f32x4.add(b3, f32x4.mul(high, s3));
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
      a0 = f32x4.add(a0, f32x4.mul(low, s0));
      b0 = f32x4.add(b0, f32x4.mul(high, s0));
      a1 = f32x4.add(a1, f32x4.mul(low, s1));
      b1 = f32x4.add(b1, f32x4.mul(high, s1));
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

// ---- bias add -------------------------------------------------------------------------------------

// ---- fused pieces of a whole LeNet-5 step (src/kernels/simd/fused-lenet5.ts) ---------------------

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
 * The patches of a stride-1 unpadded NHWC convolution, one row per output pixel (im2col):
 * out[(b, oy, ox), (r, c, i)] = x[b, oy + r, ox + c, i], so that the convolution is a matrix
 * product with the filter [kh·kw·inC, outC]. Each filter row's window is kw·inC contiguous floats.
 */
export function patches(x: usize, out: usize, batch: i32, inH: i32, inW: i32, inC: i32, kh: i32, kw: i32): void {
  const outH = inH - kh + 1;
  const outW = inW - kw + 1;
  const run = kw * inC;
  const runVectors = run & ~3;
  const rowBytes = <usize>(inW * inC) << 2;
  let to = out;
  for (let b = 0; b < batch; b++) {
    const image = x + <usize>(b * inH) * rowBytes;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let from = image + <usize>oy * rowBytes + (<usize>(ox * inC) << 2);
        for (let r = 0; r < kh; r++) {
          let k = 0;
          for (; k < runVectors; k += 4) v128.store(to + (<usize>k << 2), v128.load(from + (<usize>k << 2)));
          for (; k < run; k++) store<f32>(to + (<usize>k << 2), load<f32>(from + (<usize>k << 2)));
          to += <usize>run << 2;
          from += rowBytes;
        }
      }
    }
  }
}

// ---- Adam ---------------------------------------------------------------------------------------

/**
 * One Adam update of n values, the same float32 operations in the same order as tfjs's
 * AdamOptimizer, so the results are bit-identical: m' = m·β1 + g·(1-β1), v' = v·β2 + g²·(1-β2),
 * value' = (m'/c1) / (sqrt(v'/c2) + ε) · (-lr) + value, with c = 1 - β^t. Outputs may be inputs.
 */
export function adamUpdate(
  value: usize,
  m: usize,
  v: usize,
  g: usize,
  newValue: usize,
  newM: usize,
  newV: usize,
  n: i32,
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  correction1: f32,
  correction2: f32,
  epsilon: f32,
  negLearningRate: f32,
): void {
  const b1 = f32x4.splat(beta1);
  const c1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2);
  const c2 = f32x4.splat(oneMinusBeta2);
  const k1 = f32x4.splat(correction1);
  const k2 = f32x4.splat(correction2);
  const eps = f32x4.splat(epsilon);
  const rate = f32x4.splat(negLearningRate);
  const vectorEnd = n & ~3;
  let k = 0;
  for (; k < vectorEnd; k += 4) {
    const at = <usize>k << 2;
    const grad = v128.load(g + at);
    const m1 = f32x4.add(f32x4.mul(v128.load(m + at), b1), f32x4.mul(grad, c1));
    const v1 = f32x4.add(f32x4.mul(v128.load(v + at), b2), f32x4.mul(f32x4.mul(grad, grad), c2));
    const step = f32x4.div(f32x4.div(m1, k1), f32x4.add(f32x4.sqrt(f32x4.div(v1, k2)), eps));
    v128.store(newValue + at, f32x4.add(f32x4.mul(step, rate), v128.load(value + at)));
    v128.store(newM + at, m1);
    v128.store(newV + at, v1);
  }
  for (; k < n; k++) {
    const at = <usize>k << 2;
    const grad = load<f32>(g + at);
    const m1 = load<f32>(m + at) * beta1 + grad * oneMinusBeta1;
    const v1 = load<f32>(v + at) * beta2 + grad * grad * oneMinusBeta2;
    const step = m1 / correction1 / (Mathf.sqrt(v1 / correction2) + epsilon);
    store<f32>(newValue + at, step * negLearningRate + load<f32>(value + at));
    store<f32>(newM + at, m1);
    store<f32>(newV + at, v1);
  }
}

/**
 * {@link avgPoolGradTiled}, then {@link tanhGradient} and {@link padRows} to 8 channels, in one
 * pass, for a pool that tiles its input exactly (S2 behind C1): dx[b, iy, ix, c] =
 * dy[b, iy / w, ix / w, c] / w² · (1 - y[b, iy, ix, c]²) for c < channels (at most 8), and zero in
 * the channels up to 8. It reads up to 8 floats from each pixel of dy and y, so both need room
 * for 8 - channels floats past their end.
 */
export function avgPoolTanhGradientPadded(
  dy: usize,
  y: usize,
  dx: usize,
  batch: i32,
  outH: i32,
  outW: i32,
  channels: i32,
  window: i32,
): void {
  const scale = f32x4.splat(1.0 / <f32>(window * window));
  const one = f32x4.splat(1);
  const high = i32x4(channels > 4 ? -1 : 0, channels > 5 ? -1 : 0, channels > 6 ? -1 : 0, channels > 7 ? -1 : 0);
  const low = i32x4(channels > 0 ? -1 : 0, channels > 1 ? -1 : 0, channels > 2 ? -1 : 0, channels > 3 ? -1 : 0);
  const inW = outW * window;
  const pixelBytes = <usize>channels << 2;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const from = dy + <usize>((b * outH + oy) * outW + ox) * pixelBytes;
        const g0 = f32x4.mul(v128.load(from), scale);
        const g1 = f32x4.mul(v128.load(from, 16), scale);
        for (let i = 0; i < window; i++) {
          const pixel = <usize>((b * outH * window + oy * window + i) * inW + ox * window);
          let at = y + pixel * pixelBytes;
          let to = dx + (pixel << 5);
          for (let j = 0; j < window; j++) {
            const y0 = v128.load(at);
            const y1 = v128.load(at, 16);
            v128.store(to, v128.and(f32x4.mul(g0, f32x4.sub(one, f32x4.mul(y0, y0))), low));
            v128.store(to, v128.and(f32x4.mul(g1, f32x4.sub(one, f32x4.mul(y1, y1))), high), 16);
            at += pixelBytes;
            to += 32;
          }
        }
      }
    }
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
