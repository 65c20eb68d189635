// Average pooling whose windows tile the input (stride = window, LeNet's S2 and S4), and its gradient.

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
