/**
 * Seeded mutations of IDX files and gzip streams through the real parsers. Every mutant must give either
 * a valid result or a typed, one-line error naming its source: never a hang, a JS internal error
 * (TypeError, RangeError) or an output beyond the stated cap. A failure names the seed that reproduces it.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Mutant, mutants } from '../../../test-utils/fuzz';
import { MnistDataError } from './errors';
import { gunzipIfNeeded, IdxFormatError, parseIdxImages, parseIdxLabels } from './idx';
import { MNIST_FILE_KEYS, type MnistFileKey, parseMnistFiles } from './mnist';
import { readRealMnistFile } from './test-utils/mnist-files';

/** The cap every gunzip here runs under; far above the small inputs, far below the hard limit. */
const CAP = 1024 * 1024;
/** How long one mutant may take before it counts as a hang. */
const DEADLINE_MS = 5000;
const SOURCE = 'fuzzed-file';

/** The first `count` items of a real MNIST file, with the header's count rewritten to match. */
function firstItems(key: MnistFileKey, count: number): Uint8Array {
  const headerBytes = key.endsWith('Images') ? 16 : 8;
  const itemBytes = key.endsWith('Images') ? 28 * 28 : 1;
  const bytes = readRealMnistFile(key).slice(0, headerBytes + count * itemBytes);
  new DataView(bytes.buffer).setUint32(4, count);
  return bytes;
}

const images = firstItems('testImages', 100);
const labels = firstItems('testLabels', 100);

/**
 * Mutants whose magic number is left intact, so the edits reach the counts and dimensions behind it
 * (most edits to the magic itself stop at the first check).
 */
function* behindMagic(bytes: Uint8Array, count: number, seed: number, focus: number): Generator<Mutant> {
  for (const mutant of mutants(bytes.subarray(4), count, seed, focus - 4)) {
    const out = new Uint8Array(4 + mutant.bytes.length);
    out.set(bytes.subarray(0, 4));
    out.set(mutant.bytes, 4);
    yield { ...mutant, how: `after the magic: ${mutant.how}`, bytes: out };
  }
}

/** Runs `parse` on one mutant and checks the outcome; the label names the mutant in every failure. */
async function expectTypedOutcome(
  mutant: Mutant,
  parse: (bytes: Uint8Array) => Promise<unknown>,
  checkResult: (result: unknown, label: string) => void,
): Promise<void> {
  const label = `seed ${mutant.seed} (${mutant.how})`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), DEADLINE_MS);
  });
  const outcome = await Promise.race([
    parse(mutant.bytes).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    ),
    hang,
  ]).finally(() => clearTimeout(timer));
  expect(outcome, `${label}: no answer within ${DEADLINE_MS} ms`).not.toBe('hang');
  if (outcome === 'hang') return;
  if ('error' in outcome) {
    const { error } = outcome;
    const typed = error instanceof IdxFormatError || error instanceof MnistDataError;
    expect(typed, `${label}: untyped ${String(error)}`).toBe(true);
    const message = (error as Error).message;
    expect(message.includes(SOURCE), `${label}: message does not name the source: ${message}`).toBe(true);
    expect(message.includes('\n'), `${label}: message is not one line: ${message}`).toBe(false);
  } else {
    checkResult(outcome.result, label);
  }
}

/** Gunzips (if it is gzip) under the cap, checking the cap held, then parses. */
async function gunzipThen<T>(bytes: Uint8Array, parse: (bytes: Uint8Array, source: string) => T): Promise<T> {
  const inflated = await gunzipIfNeeded(bytes, SOURCE, { maxBytes: CAP });
  // A gzip's output must respect the cap; bytes passed through unchanged are the mutant's own size.
  if (inflated !== bytes && inflated.length > CAP) throw new Error(`inflated ${inflated.length} bytes`);
  return parse(inflated, SOURCE);
}

function checkImages(result: unknown, label: string): void {
  const { count, rows, cols, pixels } = result as ReturnType<typeof parseIdxImages>;
  expect(pixels.length, label).toBe(count * rows * cols);
  expect(pixels.length, label).toBeLessThanOrEqual(CAP);
}

function checkLabels(result: unknown, label: string): void {
  const parsed = result as ReturnType<typeof parseIdxLabels>;
  expect(parsed.labels.length, label).toBe(parsed.count);
  expect(
    parsed.labels.every((l) => l <= 9),
    label,
  ).toBe(true);
}

describe('fuzz: IDX headers', () => {
  it('plain image headers', async () => {
    for (const mutant of [...mutants(images, 40, 1, 16), ...behindMagic(images, 40, 11, 16)]) {
      await expectTypedOutcome(mutant, async (bytes) => parseIdxImages(bytes, SOURCE), checkImages);
    }
  });

  it('plain label headers', async () => {
    for (const mutant of [...mutants(labels, 30, 2, 8), ...behindMagic(labels, 30, 12, 8)]) {
      await expectTypedOutcome(mutant, async (bytes) => parseIdxLabels(bytes, SOURCE), checkLabels);
    }
  });

  it('plain image files, edited anywhere (pixel edits keep them valid)', async () => {
    for (const mutant of mutants(images, 30, 15)) {
      await expectTypedOutcome(mutant, async (bytes) => parseIdxImages(bytes, SOURCE), checkImages);
    }
  });

  it('gzipped image headers', async () => {
    for (const mutant of [...mutants(images, 25, 3, 16), ...behindMagic(images, 25, 13, 16)]) {
      const gz = { ...mutant, bytes: gzipSync(mutant.bytes, { level: 1 }) };
      await expectTypedOutcome(gz, (bytes) => gunzipThen(bytes, parseIdxImages), checkImages);
    }
  });

  it('gzipped label headers', async () => {
    for (const mutant of [...mutants(labels, 25, 4, 8), ...behindMagic(labels, 25, 14, 8)]) {
      const gz = { ...mutant, bytes: gzipSync(mutant.bytes) };
      await expectTypedOutcome(gz, (bytes) => gunzipThen(bytes, parseIdxLabels), checkLabels);
    }
  });
});

describe('fuzz: gzip streams', () => {
  it('mutated compressed images', async () => {
    for (const mutant of mutants(gzipSync(images), 80, 5)) {
      await expectTypedOutcome(mutant, (bytes) => gunzipThen(bytes, parseIdxImages), checkImages);
    }
  });

  it('mutated compressed labels, mostly in the gzip header and the first deflate block', async () => {
    for (const mutant of mutants(gzipSync(labels), 60, 6, 32)) {
      await expectTypedOutcome(mutant, (bytes) => gunzipThen(bytes, parseIdxLabels), checkLabels);
    }
  });
});

describe('fuzz: parseMnistFiles', () => {
  const files: Record<MnistFileKey, Uint8Array> = {
    trainImages: images,
    trainLabels: labels,
    testImages: images,
    testLabels: labels,
  };
  const sources = Object.fromEntries(MNIST_FILE_KEYS.map((key) => [key, `${SOURCE}/${key}`]));

  it('one of the four files mutated, plain or gzipped', async () => {
    let n = 0;
    for (const key of MNIST_FILE_KEYS) {
      const focus = key.endsWith('Images') ? 16 : 8;
      for (const mutant of behindMagic(files[key], 15, 7 + n++, focus)) {
        const gzipped = mutant.seed % 2 === 0;
        const bytes = gzipped ? gzipSync(mutant.bytes) : mutant.bytes;
        const labelled = { ...mutant, how: `${key}${gzipped ? ' (gzipped)' : ''}: ${mutant.how}` };
        await expectTypedOutcome(
          { ...labelled, bytes },
          async (candidate) =>
            parseMnistFiles(
              { ...files, [key]: await gunzipIfNeeded(candidate, sources[key], { maxBytes: CAP }) },
              sources,
            ),
          (result, label) => {
            const { train, test } = result as ReturnType<typeof parseMnistFiles>;
            for (const split of [train, test]) {
              expect(split.count, label).toBeGreaterThan(0);
              expect(split.images.length, label).toBe(split.count * 28 * 28);
              expect(split.labels.length, label).toBe(split.count);
            }
          },
        );
      }
    }
  });
});
