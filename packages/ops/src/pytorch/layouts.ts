/**
 * Conv kernel PyTorch OIHW `[out, in, h, w]` -> tfjs HWIO `[h, w, in, out]`. A pure permutation:
 * every value is copied bit for bit. PyTorch's conv2d and tfjs' are both cross-correlations, so no flip.
 */
export function oihwToHwio(values: Float32Array, [o, i, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let a = 0; a < o!; a++)
    for (let b = 0; b < i!; b++)
      for (let y = 0; y < h!; y++)
        for (let x = 0; x < w!; x++)
          out[((y * w! + x) * i! + b) * o! + a] = values[((a * i! + b) * h! + y) * w! + x]!;
  return out;
}

/** Conv kernel tfjs HWIO `[h, w, in, out]` -> PyTorch OIHW `[out, in, h, w]`; the inverse of {@link oihwToHwio}. */
export function hwioToOihw(values: Float32Array, [h, w, i, o]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let a = 0; a < o!; a++)
    for (let b = 0; b < i!; b++)
      for (let y = 0; y < h!; y++)
        for (let x = 0; x < w!; x++)
          out[((a * i! + b) * h! + y) * w! + x] = values[((y * w! + x) * i! + b) * o! + a]!;
  return out;
}

/** Transposes a row-major `[rows, cols]` matrix: PyTorch Linear `[out, in]` <-> tfjs dense `[in, out]`. */
export function transpose2d(values: Float32Array, [rows, cols]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows!; r++) for (let c = 0; c < cols!; c++) out[c * rows! + r] = values[r * cols! + c]!;
  return out;
}
