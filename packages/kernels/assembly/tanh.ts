// tanh and its gradient, four lanes at a time.
import { madd } from './madd';

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
export function tanh4(x: v128): v128 {
  // pmin/pmax, not min/max: V8 makes each one x86 instruction, where min/max take several for their
  // NaN and -0 rules, and tanh's clamp does not need those (a NaN lane stays NaN, -0 stays -0).
  const a = f32x4.pmax(f32x4.pmin(x, f32x4.splat(9.0)), f32x4.splat(-9.0));
  const u = f32x4.mul(a, a);
  let p = f32x4.splat(P4);
  p = madd(p, u, f32x4.splat(P3));
  p = madd(p, u, f32x4.splat(P2));
  p = madd(p, u, f32x4.splat(P1));
  p = madd(p, u, f32x4.splat(P0));
  let q = f32x4.splat(Q4);
  q = madd(q, u, f32x4.splat(Q3));
  q = madd(q, u, f32x4.splat(Q2));
  q = madd(q, u, f32x4.splat(Q1));
  q = madd(q, u, f32x4.splat(1.0));
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
