import { PyTorchFormatError } from './errors';

/** Element types that can be read and converted to float32, named as safetensors names them. */
export type FloatDType = 'F32' | 'F16' | 'BF16' | 'F64';

/** Bytes per element of each {@link FloatDType}. */
export const DTYPE_SIZES: Readonly<Record<FloatDType, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** A tensor read from a file, converted to float32, row-major (C order). */
export interface Float32Tensor {
  shape: number[];
  values: Float32Array;
}

/** Product of a shape's dimensions (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Converts `bytes` (little-endian, or big-endian when `bigEndian`) of one dtype to float32.
 * F32 is copied bit for bit; F16 and BF16 are exact in float32; F64 is rounded to the nearest float32.
 */
export function toFloat32(bytes: Uint8Array, dtype: FloatDType, bigEndian = false): Float32Array {
  const size = DTYPE_SIZES[dtype];
  if (bytes.length % size !== 0) {
    throw new PyTorchFormatError(`${bytes.length} bytes are not a whole number of ${dtype} values`);
  }
  // Copying the bytes keeps every bit, NaN payloads included (JS hosts are little-endian).
  if (dtype === 'F32' && !bigEndian) return new Float32Array(bytes.slice().buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const littleEndian = !bigEndian;
  const out = new Float32Array(bytes.length / size);
  for (let i = 0; i < out.length; i++) {
    const at = i * size;
    if (dtype === 'F32') out[i] = view.getFloat32(at, littleEndian);
    else if (dtype === 'F64') out[i] = view.getFloat64(at, littleEndian);
    else if (dtype === 'F16') out[i] = halfToFloat(view.getUint16(at, littleEndian));
    else out[i] = bfloat16ToFloat(view.getUint16(at, littleEndian));
  }
  return out;
}

/** IEEE 754 binary16 bits to a number (exact). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 bits to a number: they are the upper half of a float32 (exact). */
export function bfloat16ToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/**
 * A tensor as a file stores it: its dtype (safetensors' names: F32, F16, BF16, F64, I64, ...), shape, and
 * its elements' bytes in row-major order. Only the float dtypes can become weights; the rest are listed
 * so that an error can name them.
 */
export interface StoredTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
  /** True for the rare .pt written on a big-endian machine; safetensors is always little-endian. */
  bigEndian?: boolean;
}

/** Whether a dtype name is one that {@link toFloat32} converts. */
export function isFloatDType(dtype: string): dtype is FloatDType {
  return dtype in DTYPE_SIZES;
}
