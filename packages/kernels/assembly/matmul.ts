// Dense layers: the matrix product in 4 x 8 register tiles, and sums over rows (bias gradients).
import { madd } from './madd';

/**
 * c[i, j] = Σ over k of a(i, k) · b[k, j], with a(i, k) the float at a + i * aRowStride + k * aColStride
 * floats, so that a may be stored transposed; b is [depth, paddedCols] with paddedCols a multiple
 * of 8, and c is written [rows, paddedCols]. Tiles of 4 rows by 8 columns stay in registers
 * ({@link multiplyTile}); a last tile short of 4 rows repeats the last row. `tile` is scratch for
 * 32 floats.
 */
export function matmul(
  a: usize,
  aRowStride: i32,
  aColStride: i32,
  b: usize,
  c: usize,
  rows: i32,
  depth: i32,
  paddedCols: i32,
  tile: usize,
): void {
  const bRowBytes = <usize>paddedCols << 2;
  const aRowBytes = <usize>aRowStride << 2;
  const aColBytes = <usize>aColStride << 2;
  const last = rows - 1;
  for (let i0 = 0; i0 < rows; i0 += 4) {
    const r0 = a + <usize>min(i0, last) * aRowBytes;
    const r1 = a + <usize>min(i0 + 1, last) * aRowBytes;
    const r2 = a + <usize>min(i0 + 2, last) * aRowBytes;
    const r3 = a + <usize>min(i0 + 3, last) * aRowBytes;
    for (let j0 = 0; j0 < paddedCols; j0 += 8) {
      multiplyTile(r0, r1, r2, r3, aColBytes, b + (<usize>j0 << 2), bRowBytes, depth, tile);
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
    s00 = madd(v0, c0, s00);
    s01 = madd(v0, c1, s01);
    s10 = madd(v1, c0, s10);
    s11 = madd(v1, c1, s11);
    s20 = madd(v2, c0, s20);
    s21 = madd(v2, c1, s21);
    s30 = madd(v3, c0, s30);
    s31 = madd(v3, c1, s31);
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
