// One Adam update, bit-identical to tfjs's AdamOptimizer.

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
