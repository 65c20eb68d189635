import { elementCount, type Float32Tensor, type StoredTensor } from './dtypes';
import { PyTorchFormatError } from './errors';

/** Bytes per element of every safetensors dtype, so that any file's offsets can be checked. */
const SAFETENSORS_DTYPE_SIZES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

// The reference implementation refuses headers over 100 MB; a LeNet header is about 1 KB.
const MAX_HEADER_BYTES = 100_000_000;

/** The contents of a .safetensors file. */
export interface SafetensorsFile {
  /** The tensors by name, in the order of their data. */
  tensors: Map<string, StoredTensor>;
  /** The header's `__metadata__` (string to string), empty when absent. */
  metadata: Record<string, string>;
}

/**
 * Reads a .safetensors file: an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { ... } }`, then the data.
 * Every entry is checked before anything is returned: known dtype, whole-number shape, offsets inside
 * the data, `end - begin` equal to the shape's size in bytes, no two tensors sharing bytes.
 * @throws {@link PyTorchFormatError} naming the first entry that is wrong.
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  const fail = (message: string): never => {
    throw new PyTorchFormatError(`safetensors: ${message}`);
  };
  if (bytes.length < 8) fail(`the file has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    fail(
      `the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length; ` +
        'the file is truncated or not a .safetensors file',
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch {
    fail('the header is not valid UTF-8 JSON; the file is damaged or not a .safetensors file');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('the header is not a JSON object');
  const data = bytes.subarray(8 + headerLength);

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, StoredTensor>();
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        fail('__metadata__ is not an object');
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`__metadata__.${key} is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    const size = SAFETENSORS_DTYPE_SIZES[dtype as string];
    if (size === undefined) fail(`tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has shape ${JSON.stringify(shape)}, not a list of whole numbers`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}, not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const expectedBytes = elementCount(shape as number[]) * size!;
    if (begin > end || end > data.length) {
      fail(`tensor '${name}' claims bytes [${begin}, ${end}) but the data section has ${data.length} bytes`);
    }
    if (end - begin !== expectedBytes) {
      fail(
        `tensor '${name}' claims ${end - begin} bytes but ${dtype} [${(shape as number[]).join(',')}] needs ${expectedBytes}`,
      );
    }
    spans.push({ name, begin, end });
    tensors.set(name, {
      dtype: dtype as string,
      shape: [...(shape as number[])],
      bytes: data.subarray(begin, end),
    });
  }
  spans.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    const previous = spans[i - 1]!;
    const current = spans[i]!;
    if (current.begin < previous.end && current.end > current.begin) {
      fail(`tensors '${previous.name}' and '${current.name}' claim overlapping bytes; the header is wrong`);
    }
  }
  const ordered = new Map(spans.map(({ name }) => [name, tensors.get(name)!]));
  return { tensors: ordered, metadata };
}

/**
 * Writes float32 tensors as a .safetensors file, in the given order, little-endian, with the header
 * padded by spaces to a multiple of 8 bytes as the reference implementation does.
 */
export function writeSafetensors(
  tensors: ReadonlyArray<{ name: string } & Float32Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const { name, shape, values } of tensors) {
    if (values.length !== elementCount(shape)) {
      throw new RangeError(`writeSafetensors: '${name}' has ${values.length} values but shape [${shape}]`);
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + values.byteLength] };
    offset += values.byteLength;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  json += ' '.repeat((8 - (headerBytes.length % 8)) % 8);
  headerBytes = encoder.encode(json);

  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, 0, true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const { values } of tensors) {
    // Typed arrays use the host's byte order, little-endian on every JS platform; safetensors is little-endian.
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    at += values.byteLength;
  }
  return out;
}
