// Reducing a vector's lanes, for kernels whose sums run across the lanes of a vector (over pixels)
// rather than down them.

/** The sum of a vector's 4 lanes. */
// @ts-ignore: decorator
@inline
export function laneSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}
