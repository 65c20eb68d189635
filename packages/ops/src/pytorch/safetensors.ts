import { describeUntrusted, quoteName } from './describe-untrusted';
import { elementCount, type Float32Tensor, type StoredTensor } from './dtypes';
import { PyTorchFormatError } from './errors';
import { PYTORCH_READ_LIMITS } from './limits';

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
 * the data, `end - begin` equal to the shape's size in bytes, no two tensors sharing bytes. The header's
 * length and nesting are capped by {@link PYTORCH_READ_LIMITS} before it is decoded (the reference
 * implementation accepts headers up to 100 MB; a real one takes about 100 bytes per tensor).
 * @throws {@link PyTorchFormatError} naming the first entry that is wrong.
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  const fail = (message: string): never => {
    throw new PyTorchFormatError(`safetensors: ${message}`);
  };
  if (bytes.length < 8) fail(`the file has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  const { safetensorsHeaderBytes, safetensorsHeaderNesting, tensorRank } = PYTORCH_READ_LIMITS;
  if (headerLength > safetensorsHeaderBytes) {
    fail(
      `the header claims ${headerLength} bytes, more than the ${safetensorsHeaderBytes} this reader accepts; ` +
        'the file is damaged or not a .safetensors file',
    );
  }
  if (8 + headerLength > bytes.length) {
    fail(
      `the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length; ` +
        'the file is truncated or not a .safetensors file',
    );
  }
  const headerBytes = bytes.subarray(8, 8 + headerLength);
  if (exceedsJsonNesting(headerBytes, safetensorsHeaderNesting)) {
    fail(`the header nests deeper than ${safetensorsHeaderNesting} levels; a valid one nests 3`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
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
        if (typeof value !== 'string') fail(`__metadata__ entry ${quoteName(key)} is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    const tensor = `tensor ${quoteName(name)}`;
    // Own keys only: 'constructor' or 'toString' must not find Object.prototype's.
    const size =
      typeof dtype === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_SIZES, dtype)
        ? SAFETENSORS_DTYPE_SIZES[dtype]
        : undefined;
    if (size === undefined) fail(`${tensor} has unknown dtype ${describeUntrusted(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${tensor} has shape ${describeUntrusted(shape)}, not a list of whole numbers`);
    }
    if ((shape as number[]).length > tensorRank) {
      fail(
        `${tensor} has ${(shape as number[]).length} dimensions, more than the ${tensorRank} this reader accepts`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`${tensor} has data_offsets ${describeUntrusted(offsets)}, not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const expectedBytes = elementCount(shape as number[]) * size!;
    if (begin > end || end > data.length) {
      fail(`${tensor} claims bytes [${begin}, ${end}) but the data section has ${data.length} bytes`);
    }
    if (end - begin !== expectedBytes) {
      fail(
        `${tensor} claims ${end - begin} bytes but ${dtype} [${(shape as number[]).join(',')}] needs ${expectedBytes}`,
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
  // Compared with the span that reaches furthest so far, not just the previous one: [0, 100) overlaps
  // [60, 70) even with [50, 50) sorted between them.
  let furthest: (typeof spans)[number] | undefined;
  for (const current of spans) {
    if (current.end === current.begin) continue;
    if (furthest && current.begin < furthest.end) {
      fail(
        `tensors ${quoteName(furthest.name)} and ${quoteName(current.name)} claim overlapping bytes; the header is wrong`,
      );
    }
    if (!furthest || current.end > furthest.end) furthest = current;
  }
  const ordered = new Map(spans.map(({ name }) => [name, tensors.get(name)!]));
  return { tensors: ordered, metadata };
}

/**
 * Whether JSON text nests arrays and objects deeper than `limit`, by one pass over its bytes (brackets inside
 * strings do not count). Checked before `JSON.parse`, which may recurse in some engines, and before anything
 * that reads the parsed header.
 */
function exceedsJsonNesting(json: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i]!;
    if (inString) {
      if (byte === 0x5c)
        i++; // a backslash escapes the next byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > limit) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return false;
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
