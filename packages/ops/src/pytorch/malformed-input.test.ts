import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useCpuBackend } from '../test-utils/cpu';
import { fixture, rawSafetensors, storedZip } from './__fixtures__/fixtures';
import { PyTorchFormatError, StateDictMismatchError } from './errors';
import { unpickle } from './pickle';
import { importPyTorchWeights } from './pytorch-weights';
import { readSafetensors } from './safetensors';
import { readZipEntries } from './zip';

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
    ['an unknown dtype', { w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, /unknown dtype 'F128'/],
    ['a negative dimension', { w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, /shape \[-4\]/],
    ['non-string metadata', { __metadata__: { epochs: 3 } }, /__metadata__ entry 'epochs' is not a string/],
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

describe('hostile sizes and nesting: refused with the typed error before they cost memory or stack', () => {
  const options = { resolveGlobal: () => undefined, persistentLoad: () => null };
  const PROTO_2 = [0x80, 2];
  const STOP = 0x2e;
  /** A pickle: PROTO 2, `body`, STOP. */
  // Typed arrays, not number arrays: the caps below take millions of opcodes to exceed.
  const pickle = (...body: ArrayLike<number>[]) => {
    const out = new Uint8Array(PROTO_2.length + body.reduce((n, part) => n + part.length, 0) + 1);
    out.set(PROTO_2);
    let offset = PROTO_2.length;
    for (const part of body) {
      out.set(part, offset);
      offset += part.length;
    }
    out[offset] = STOP;
    return out;
  };
  const times = (n: number, ...ops: number[]) => {
    const out = new Uint8Array(n * ops.length);
    for (let i = 0; i < n; i++) out.set(ops, i * ops.length);
    return out;
  };
  const N = 100_000;
  const refusal = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(PyTorchFormatError);
      expect((error as Error).message).not.toContain('\n');
      return (error as Error).message;
    }
    throw new Error('expected a PyTorchFormatError');
  };
  const seedEntries = () => readZipEntries(fixture('seed-lenet5.pt'));
  const seedPickleName = 'seed-lenet5/data.pkl';

  it.each([
    ['100k nested EMPTY_LIST/APPEND', pickle(times(N, 0x5d), times(N - 1, 0x61))],
    ['100k nested MARK/TUPLE', pickle(times(N, 0x28), times(N, 0x74))],
    ['a tuple wrapped 100k times (TUPLE1)', pickle([0x4e], times(N, 0x85))],
    // {None: {None: ...}}: EMPTY_DICT, NONE (key) as often as deep, then one SETITEM per level.
    ['100k nested dicts', pickle(times(N - 1, 0x7d, 0x4e), [0x7d], times(N - 1, 0x73))],
  ])('%s is refused for its nesting', (_, bytes) => {
    expect(refusal(() => unpickle(bytes, options))).toMatch(/values nest more than 100 deep/);
  });

  it('a .pt whose state_dict key is nested 100k deep is refused by importPyTorchWeights (it overflowed the stack)', () => {
    // {((((None,),),)...): None} in place of the seed's data.pkl.
    const deepKey = pickle([0x7d, 0x4e], times(N, 0x85), [0x4e, 0x73]);
    const error = importError(storedZip(new Map([...seedEntries(), [seedPickleName, deepKey]])));
    expect(error).toBeInstanceOf(PyTorchFormatError);
    expect(error.message).toMatch(/^pickle \(data\.pkl\), byte \d+: values nest more than 100 deep/);
  });

  it('a dict keyed by a nest within the cap gets a short message, not the whole key', () => {
    const key = pickle([0x7d, 0x4e], times(90, 0x85), [0x4e, 0x73]);
    const message = importError(storedZip(new Map([...seedEntries(), [seedPickleName, key]]))).message;
    expect(message).toMatch(/holds a dict with keys \[\[\[\.\.\.\]\]\] but no state_dict/);
  });

  it('APPENDS of 200k items works (spreading them into push() overflowed the stack)', () => {
    const list = unpickle(pickle([0x5d, 0x28], times(200_000, 0x4e), [0x65]), options) as unknown[];
    expect(list.length).toBe(200_000);
  });

  it('a list that contains itself, or that grows after going inside another, is refused', () => {
    // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND
    expect(refusal(() => unpickle(pickle([0x5d, 0x71, 0, 0x68, 0, 0x61]), options))).toMatch(
      /contains itself/,
    );
    // inner = [] (memo 0); outer = [inner]; inner.append(None): would hide inner's depth from outer's.
    const grows = pickle([0x5d, 0x71, 0, 0x5d, 0x68, 0, 0x61, 0x68, 0, 0x4e, 0x61, 0x30]);
    expect(refusal(() => unpickle(grows.subarray(0, -2).slice(), options))).toMatch(/already inside another/);
  });

  it('caps string length, GLOBAL names, opcodes and memo entries before allocating', () => {
    // BINUNICODE claiming 4 GiB: refused from its length, before reading.
    expect(refusal(() => unpickle(pickle([0x58, 0xff, 0xff, 0xff, 0xff]), options))).toMatch(
      /a string of 4294967295 bytes is longer than the 1048576/,
    );
    const longName = pickle([0x63], [...new TextEncoder().encode(`${'a'.repeat(5000)}\nb\n`)]);
    expect(refusal(() => unpickle(longName, options))).toMatch(/a GLOBAL name is longer than 1024 bytes/);
    expect(refusal(() => unpickle(pickle(times(4_000_001, 0x4e)), options))).toMatch(
      /runs more than 4000000 instructions/,
    );
    // NONE, then LONG_BINPUT k for a million and one keys.
    const memo = new Uint8Array(5 * 1_000_001);
    const view = new DataView(memo.buffer);
    for (let k = 0; k <= 1_000_000; k++) {
      memo[5 * k] = 0x72;
      view.setUint32(5 * k + 1, k, true);
    }
    expect(refusal(() => unpickle(pickle([0x4e], memo), options))).toMatch(
      /memoizes more than 1000000 values/,
    );
  });

  it('a tensor with a negative storage offset is refused (it read bytes from the end of the storage)', () => {
    const entries = seedEntries();
    const seedPickle = entries.get(seedPickleName)!;
    // conv1.weight's storage offset, BININT1 0 at byte 150, becomes BININT -1 (nothing in a pickle is addressed by byte).
    expect([...seedPickle.subarray(150, 152)]).toEqual([0x4b, 0]);
    const negative = new Uint8Array([
      ...seedPickle.subarray(0, 150),
      0x4a,
      0xff,
      0xff,
      0xff,
      0xff,
      ...seedPickle.subarray(152),
    ]);
    expect(importError(storedZip(new Map([...entries, [seedPickleName, negative]]))).message).toMatch(
      /tensor 'conv1\.weight' reaches outside its storage \(offset -1, shape \[6,1,5,5\]\)/,
    );
  });

  it('a zip that repeats a name, overlaps entries, or claims more entries than its directory holds', () => {
    const entries = [...seedEntries()];
    const duplicated = storedZip([...entries, entries[1]!]);
    expect(importError(duplicated).message).toMatch(/holds 'seed-lenet5\/data\/0' twice/);

    // Three central directory records for one local entry of 1000 bytes, under three names.
    const one = storedZip([['archive/d0', new Uint8Array(1000)]]);
    const directory = one.length - 22 - (46 + 10);
    const records = [0, 1, 2].map((i) => {
      const record = one.slice(directory, one.length - 22);
      record[46 + 9] = 0x30 + i;
      return record;
    });
    const end = one.slice(one.length - 22);
    new DataView(end.buffer).setUint16(8, 3, true);
    new DataView(end.buffer).setUint16(10, 3, true);
    new DataView(end.buffer).setUint32(12, 3 * records[0]!.length, true);
    const overlapping = new Uint8Array(Buffer.concat([one.subarray(0, directory), ...records, end]));
    expect(() => readZipEntries(overlapping)).toThrow(/together claim more bytes than the file holds/);

    const lying = fixture('seed-lenet5.pt');
    new DataView(lying.buffer).setUint16(lying.length - 22 + 10, 0xfffe, true);
    expect(importError(lying).message).toMatch(
      /claims 65534 entries, but its central directory has room for \d+; the file is truncated/,
    );
  });

  it('a safetensors header that nests deep, is too long, or names a prototype key as dtype', () => {
    const data = new Uint8Array(16);
    const deep = new TextEncoder().encode(`{"w":${'['.repeat(N)}${']'.repeat(N)}}`);
    const file = new Uint8Array(8 + deep.length);
    new DataView(file.buffer).setUint32(0, deep.length, true);
    file.set(deep, 8);
    expect(importError(file).message).toMatch(/the header nests deeper than 16 levels/);

    const long = rawSafetensors({}, data);
    new DataView(long.buffer).setUint32(0, 2 ** 30, true);
    expect(importError(long).message).toMatch(
      /claims 1073741824 bytes, more than the 16777216 this reader accepts/,
    );

    const toStringDtype = rawSafetensors(
      { w: { dtype: 'toString', shape: [4], data_offsets: [0, 16] } },
      data,
    );
    expect(importError(toStringDtype).message).toMatch(/tensor 'w' has unknown dtype 'toString'/);
  });

  it('safetensors overlap is found past an empty tensor between the two', () => {
    const header = {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
      c: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    };
    expect(importError(rawSafetensors(header, new Uint8Array(16))).message).toMatch(
      /'a' and 'c' claim overlapping bytes/,
    );
  });

  it('a hostile tensor name is escaped and cut, so that each problem stays one short line', () => {
    const name = `evil\n${'x'.repeat(500)}`;
    const error = importError(
      rawSafetensors({ [name]: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
    );
    expect(error).toBeInstanceOf(StateDictMismatchError);
    const problem = (error as StateDictMismatchError).problems.find((p) => p.startsWith('unexpected'))!;
    expect(problem).toMatch(/^unexpected 'evil\\u000axxx+\.\.\.' \(505 characters\) \[1\]/);
    expect(problem.length).toBeLessThan(200);
  });
});
