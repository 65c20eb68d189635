// The multiply-add every kernel's inner loop is made of. The same source compiles twice
// (scripts/build-wasm.mjs): once for plain SIMD, where it is a multiply and an add, and once with
// relaxed SIMD, where it is f32x4.relaxed_madd, a fused multiply-add on CPUs that have one (one
// rounding instead of two, which moves results by float rounding only). Which module runs is
// decided at load time (src/wasm/wasm-module.ts).

/** a · b + c, four lanes. */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
