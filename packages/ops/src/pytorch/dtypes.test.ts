import { describe, expect, it } from 'vitest';
import { bfloat16ToFloat, halfToFloat, toFloat32 } from './dtypes';

describe('conversion to float32', () => {
  it('decodes IEEE half precision, subnormals and specials included', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x3555)).toBe(0.333251953125);
    expect(halfToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
  });

  it('decodes bfloat16 as the upper half of a float32', () => {
    const f32 = new Float32Array([Math.PI, -1.5e-20, 3e38]);
    const bits = new Uint32Array(f32.buffer);
    for (let i = 0; i < f32.length; i++) {
      const truncated = new Float32Array(new Uint32Array([bits[i]! & 0xffff0000]).buffer)[0];
      expect(bfloat16ToFloat(bits[i]! >>> 16)).toBe(truncated);
    }
  });

  it('reads F32 bit for bit, F64 rounded to nearest, and big-endian when asked', () => {
    const f32 = new Float32Array([0.1, -7.25, 1e-40]);
    expect(toFloat32(new Uint8Array(f32.buffer), 'F32')).toEqual(f32);
    const f64 = new Float64Array([0.1, 1 / 3]);
    expect(Array.from(toFloat32(new Uint8Array(f64.buffer), 'F64'))).toEqual([
      Math.fround(0.1),
      Math.fround(1 / 3),
    ]);
    const bigEndian = new Uint8Array([0x3f, 0x80, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00]);
    expect(Array.from(toFloat32(bigEndian, 'F32', true))).toEqual([1, -2]);
    expect(Array.from(toFloat32(new Uint8Array([0x00, 0x3c, 0x00, 0xbc]), 'F16'))).toEqual([1, -1]);
  });
});
