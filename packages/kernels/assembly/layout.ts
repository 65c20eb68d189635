// Row padding and transposes: the kernels work on rows padded to whole vectors.

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

/** to[k, j] = from[j, k] for from [rows, cols], each row of `to` padded with zeros to `paddedRows`. */
export function transposePadded(from: usize, to: usize, rows: i32, cols: i32, paddedRows: i32): void {
  for (let k = 0; k < cols; k++) {
    const row = to + (<usize>(k * paddedRows) << 2);
    for (let j = 0; j < rows; j++) store<f32>(row + (<usize>j << 2), load<f32>(from + (<usize>(j * cols + k) << 2)));
    for (let j = rows; j < paddedRows; j++) store<f32>(row + (<usize>j << 2), 0);
  }
}
