// Seeded mutations of real .pt and .safetensors files through the public readers. Every mutant must be
// refused with the package's typed error and a one-line message, or be read: never a TypeError, RangeError
// or stack overflow. A failure names the seed and the edits, which reproduce it.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type Mutant, mutants } from '../../../../test-utils/fuzz';
import { useCpuBackend } from '../test-utils/cpu';
import { fixture, storedZip } from './__fixtures__/fixtures';
import { PyTorchFormatError, StateDictMismatchError } from './errors';
import { importPyTorchWeights } from './pytorch-weights';
import { readSafetensors } from './safetensors';
import { readTorchCheckpoint } from './torch-checkpoint';
import { readZipEntries } from './zip';

useCpuBackend();

/** How many mutants of each kind each campaign tries. */
const COUNT = 300;

/**
 * Runs `read` on every mutant. It must return, or throw a {@link PyTorchFormatError} with a one-line message
 * (or a {@link StateDictMismatchError}, which lists its problems one per line). Returns how many were refused.
 */
function expectTypedOrValid(campaign: string, all: Iterable<Mutant>, read: (bytes: Uint8Array) => void) {
  let refused = 0;
  for (const { seed, how, bytes } of all) {
    const context = `${campaign}: mutant seed ${seed} (${how})`;
    try {
      read(bytes);
    } catch (error) {
      refused++;
      if (error instanceof StateDictMismatchError) {
        expect(error.problems.length, context).toBeGreaterThan(0);
        continue;
      }
      expect(error, `${context}: ${String(error)}`).toBeInstanceOf(PyTorchFormatError);
      const { message } = error as Error;
      expect(message.length, context).toBeGreaterThan(10);
      expect(message.length, `${context}: message too long`).toBeLessThan(1000);
      expect(message, context).not.toContain('\n');
      expect(message, context).not.toMatch(/undefined|NaN|\[object /);
    }
  }
  return refused;
}

/** The whole public path: detect, read, check the names and shapes, build the model (then dispose it). */
function importAndDispose(bytes: Uint8Array): void {
  const before = tf.memory().numTensors;
  try {
    importPyTorchWeights(bytes).model.dispose();
  } finally {
    expect(tf.memory().numTensors).toBe(before);
  }
}

/** `count` mutants of `bytes[from:]`, each put back after the untouched `bytes[:from]`. */
function* tailMutants(bytes: Uint8Array, from: number, count: number, seed: number): Generator<Mutant> {
  for (const mutant of mutants(bytes.subarray(from), count, seed)) {
    yield {
      ...mutant,
      how: `tail from ${from}: ${mutant.how}`,
      bytes: concat(bytes.subarray(0, from), mutant.bytes),
    };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The offset of the central directory: the structure that the tail mutants hit. */
function centralDirectoryOffset(zip: Uint8Array): number {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  return view.getUint32(zip.length - 22 + 16, true);
}

describe('fuzzing .pt zip archives', () => {
  const seed = fixture('seed-lenet5.pt');

  it.each(['seed-lenet5.pt', 'transposed.pt', 'int64-weights.pt', 'deflated.pt'])(
    'mutations anywhere in %s',
    (name) => {
      const refused = expectTypedOrValid(name, mutants(fixture(name), COUNT, 11), importAndDispose);
      expect(refused).toBeGreaterThan(COUNT / 2);
    },
  );

  it('mutations of the local header and data.pkl at the start of seed-lenet5.pt', () => {
    expectTypedOrValid('head', mutants(seed, COUNT, 12, 1100), importAndDispose);
  });

  it('mutations of the central directory and end record of seed-lenet5.pt', () => {
    const tail = tailMutants(seed, centralDirectoryOffset(seed), COUNT, 13);
    const refused = expectTypedOrValid('central directory', tail, (bytes) => readZipEntries(bytes));
    expect(refused).toBeGreaterThan(0);
  });
});

describe('fuzzing the pickle inside a .pt (mutated data.pkl, re-zipped with correct CRCs)', () => {
  const entries = readZipEntries(fixture('seed-lenet5.pt'));
  const pickleName = [...entries.keys()].find((name) => name.endsWith('/data.pkl'))!;
  const pickle = entries.get(pickleName)!;
  const rezipped = function* (all: Iterable<Mutant>): Generator<Mutant> {
    for (const mutant of all) {
      yield { ...mutant, bytes: storedZip(new Map([...entries, [pickleName, mutant.bytes]])) };
    }
  };

  it('the re-zipping keeps the seed readable, so that every refusal is the mutation', () => {
    const tensors = readTorchCheckpoint(storedZip(entries));
    expect([...tensors.keys()]).toContain('conv1.weight');
  });

  it('mutations anywhere in data.pkl, through readTorchCheckpoint and importPyTorchWeights', () => {
    const all = [...rezipped(mutants(pickle, COUNT, 21))];
    const refused = expectTypedOrValid('data.pkl', all, (bytes) => readTorchCheckpoint(bytes));
    expect(refused).toBeGreaterThan(0);
    expectTypedOrValid('data.pkl (import)', all, importAndDispose);
  });

  it('mutations of the first tensor records of data.pkl', () => {
    expectTypedOrValid('data.pkl head', rezipped(mutants(pickle, COUNT, 22, 260)), (bytes) =>
      readTorchCheckpoint(bytes),
    );
  });
});

describe('fuzzing .safetensors headers', () => {
  const file = fixture('seed-lenet5.safetensors');
  const headerEnd = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));

  it('mutations of the 8-byte length and the JSON header, through readSafetensors and importPyTorchWeights', () => {
    const all = [...mutants(file, COUNT, 31, headerEnd)];
    const refused = expectTypedOrValid('header', all, (bytes) => readSafetensors(bytes));
    expect(refused).toBeGreaterThan(COUNT / 2);
    expectTypedOrValid('header (import)', all, importAndDispose);
  });

  it('mutations of the length field alone', () => {
    expectTypedOrValid('length', mutants(file, COUNT, 32, 8), (bytes) => readSafetensors(bytes));
  });
});
