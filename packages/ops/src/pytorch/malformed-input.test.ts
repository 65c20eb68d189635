import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useCpuBackend } from '../test-utils/cpu';
import { fixture, rawSafetensors } from './__fixtures__/fixtures';
import { PyTorchFormatError, StateDictMismatchError } from './errors';
import { unpickle } from './pickle';
import { importPyTorchWeights } from './pytorch-weights';
import { readSafetensors } from './safetensors';

useCpuBackend();

/** The error importPyTorchWeights throws for `bytes` (it must throw, and create no tensor). */
function importError(bytes: Uint8Array): Error {
  const before = tf.memory().numTensors;
  try {
    importPyTorchWeights(bytes);
  } catch (error) {
    expect(tf.memory().numTensors).toBe(before);
    return error as Error;
  }
  throw new Error('expected importPyTorchWeights to throw');
}

describe('.pt files that must be refused', () => {
  const pt = fixture('seed-lenet5.pt');

  it.each([
    ['cut in half', pt.subarray(0, pt.length >> 1)],
    ['missing its last 10 bytes', pt.subarray(0, pt.length - 10)],
    ['only its first 100 bytes', pt.subarray(0, 100)],
  ])('a truncated zip (%s) says it is truncated', (_, bytes) => {
    const error = importError(bytes);
    expect(error).toBeInstanceOf(PyTorchFormatError);
    expect(error.message).toMatch(/truncated/);
  });

  it('a flipped byte inside a stored tensor fails the CRC check', () => {
    const damaged = pt.slice();
    damaged[pt.length >> 1] ^= 0xff;
    expect(importError(damaged).message).toMatch(/fails its CRC-32 check/);
  });

  it('a pickle that calls os.system is refused before anything runs, naming the global', () => {
    const error = importError(fixture('malicious-os-system.pt'));
    expect(error).toBeInstanceOf(PyTorchFormatError);
    // Python pickles os.system as posix.system on Linux (nt.system on Windows).
    expect(error.message).toMatch(/refusing the global '(posix|os|nt)\.system'/);
  });

  it('a compressed archive, a non-contiguous tensor, legacy and foreign files each get their reason', () => {
    expect(importError(fixture('deflated.pt')).message).toMatch(
      /is compressed \(deflate\), but torch\.save writes/,
    );
    expect(importError(fixture('transposed.pt')).message).toMatch(
      /'fc2\.weight' is not contiguous.*\.contiguous\(\)/,
    );
    expect(importError(new Uint8Array([0x80, 0x02, 0x8a, 0x0a])).message).toMatch(/legacy/);
    expect(importError(new TextEncoder().encode('hello, world')).message).toMatch(/neither a PyTorch \.pt/);
  });
});

describe('pickle opcodes and globals outside a state_dict', () => {
  const options = { resolveGlobal: () => undefined, persistentLoad: () => null };
  const bytes = (...values: (number | string)[]) =>
    new Uint8Array(values.flatMap((v) => (typeof v === 'string' ? [...new TextEncoder().encode(v)] : [v])));

  it('reads the plain values a state_dict pickle uses', () => {
    // PROTO 2, EMPTY_DICT, MARK, 'a' -> (1, -2, True), 'b' -> None, SETITEMS, STOP
    const pickle = bytes(
      0x80,
      2,
      0x7d,
      0x28,
      0x58,
      1,
      0,
      0,
      0,
      'a',
      0x4b,
      1,
      0x4a,
      0xfe,
      0xff,
      0xff,
      0xff,
      0x88,
      0x87,
    );
    const tail = bytes(0x58, 1, 0, 0, 0, 'b', 0x4e, 0x75, 0x2e);
    const value = unpickle(new Uint8Array([...pickle, ...tail]), options) as Map<string, unknown>;
    expect(value).toEqual(
      new Map<string, unknown>([
        ['a', [1, -2, true]],
        ['b', null],
      ]),
    );
  });

  it.each([
    ['INST', bytes(0x80, 2, 0x69, 'os\nsystem\n', 0x2e), /opcode 0x69 \(INST\)/],
    ['OBJ', bytes(0x80, 2, 0x28, 0x6f, 0x2e), /opcode 0x6f \(OBJ\)/],
    ['NEWOBJ', bytes(0x80, 2, 0x81, 0x2e), /opcode 0x81 \(NEWOBJ\)/],
    [
      'GLOBAL builtins.eval',
      bytes(0x80, 2, 0x63, 'builtins\neval\n', 0x2e),
      /refusing the global 'builtins\.eval'/,
    ],
    ['a pickle without STOP', bytes(0x80, 2, 0x7d), /ends in the middle|empty stack/],
    ['BINGET of a memo never stored', bytes(0x80, 2, 0x68, 9, 0x2e), /memo entry 9/],
  ])('%s is refused with a clear error', (_, pickle, message) => {
    expect(() => unpickle(pickle, options)).toThrow(PyTorchFormatError);
    expect(() => unpickle(pickle, options)).toThrow(message);
  });
});

describe('.safetensors files that must be refused', () => {
  const data = new Uint8Array(16);

  it.each([
    [
      'data_offsets past the end',
      { w: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } },
      /claims bytes \[8, 24\) but the data section has 16 bytes/,
    ],
    [
      'a length that does not fit the shape',
      { w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } },
      /claims 16 bytes but F32 \[3\] needs 12/,
    ],
    [
      'two tensors sharing bytes',
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      /'a' and 'b' claim overlapping bytes/,
    ],
    ['an unknown dtype', { w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, /unknown dtype "F128"/],
    ['a negative dimension', { w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, /shape \[-4\]/],
    ['non-string metadata', { __metadata__: { epochs: 3 } }, /__metadata__\.epochs is not a string/],
  ])('a header with %s', (_, header, message) => {
    const error = importError(rawSafetensors(header, data));
    expect(error).toBeInstanceOf(PyTorchFormatError);
    expect(error.message).toMatch(message);
  });

  it('a header length larger than the file, and a header that is not JSON', () => {
    const file = fixture('seed-lenet5.safetensors');
    expect(importError(file.subarray(0, 200)).message).toMatch(
      /the header claims \d+ bytes but the file has 192/,
    );
    const broken = file.slice();
    broken[9] = 0x7d; // '}' right after '{'
    expect(importError(broken).message).toMatch(/not valid UTF-8 JSON/);
  });

  it('a wrong dtype and a missing key are listed together by name', () => {
    const file = readSafetensors(fixture('seed-lenet5.safetensors'));
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const [name, tensor] of file.tensors) {
      if (name === 'conv3.bias') continue;
      // conv1.bias stored as 6 int32 values instead of float32.
      header[name] = {
        dtype: name === 'conv1.bias' ? 'I32' : 'F32',
        shape: tensor.shape,
        data_offsets: [offset, offset + tensor.bytes.length],
      };
      chunks.push(tensor.bytes);
      offset += tensor.bytes.length;
    }
    const data = new Uint8Array(Buffer.concat(chunks));
    const error = importError(rawSafetensors(header, data)) as StateDictMismatchError;
    expect(error).toBeInstanceOf(StateDictMismatchError);
    expect(error.problems).toEqual([
      "missing 'conv3.bias' (shape [120])",
      "'conv1.bias' has dtype I32; weights must be floating point (F32, F16, BF16, F64)",
    ]);
  });

  it('bad recorded metadata says which key to fix', () => {
    const file = fixture('seed-lenet5.safetensors');
    const { tensors } = readSafetensors(file);
    const header: Record<string, unknown> = { __metadata__: { 'lenet5.preprocessing': '{"resize":"crop"}' } };
    let offset = 0;
    const parts: Uint8Array[] = [];
    for (const [name, t] of tensors) {
      header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
      parts.push(t.bytes);
      offset += t.bytes.length;
    }
    const data = new Uint8Array(Buffer.concat(parts));
    expect(importError(rawSafetensors(header, data)).message).toMatch(
      /lenet5\.preprocessing.*Remove the key/,
    );
  });
});
