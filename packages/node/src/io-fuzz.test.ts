import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkWeightsManifest,
  LeNet5,
  loadWeights,
  MAX_WEIGHTS_BYTES,
  NonFiniteWeightsError,
  saveWeights,
  WeightsFormatError,
  WeightsManifestError,
} from '@lenet/ops';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mutant, mutants } from '../../../test-utils/fuzz';
import { structuralMutants } from '../../../test-utils/manifest-mutants';
import { CheckpointError, fileSystemHandler } from './io';

// Seeded mutants of a real model.json, through the ops rule itself and through the real loader. Each must be
// a valid model or a typed error naming the file or the entry: never a hang, never a JavaScript internal
// message, never an allocation past the limits (a RangeError from an allocation fails the message check).

/** Messages that come from JavaScript itself rather than from a check that knows what went wrong. */
const INTERNAL_MESSAGE =
  /is not (iterable|a function|an object|defined)|Cannot (read|set) propert|of (undefined|null)|Invalid (typed )?array length|allocation failed|Maximum call stack|toString|\[object /;

let dir: string;
let modelJsonPath: string;
let original: Uint8Array;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'lenet-node-fuzz-'));
  modelJsonPath = join(dir, 'model.json');
  const model = LeNet5.create({ seed: 5 });
  await saveWeights(model, fileSystemHandler(dir), { preprocessing: { resize: 'pad', normalize: null } });
  model.dispose();
  original = new Uint8Array(await readFile(modelJsonPath));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `bytes` as the folder's model.json and checks what the rule and the loader make of it. */
async function checkMutant({ seed, how, bytes }: Mutant): Promise<'loaded' | 'refused'> {
  const label = `seed ${seed} (${how})`;
  await writeFile(modelJsonPath, bytes);

  let ruleMessage: string | undefined;
  const parsed = parseOrUndefined(bytes);
  if (typeof parsed === 'object' && parsed !== null && 'weightsManifest' in parsed) {
    try {
      const checked = checkWeightsManifest(parsed.weightsManifest);
      expect(checked.byteLength, label).toBeLessThanOrEqual(MAX_WEIGHTS_BYTES);
    } catch (error) {
      expect(error, label).toBeInstanceOf(WeightsManifestError);
      ruleMessage = (error as WeightsManifestError).message;
      expect((error as WeightsManifestError).entry, label).toMatch(/^weightsManifest/);
      expect(ruleMessage, label).not.toMatch(INTERNAL_MESSAGE);
      expect(ruleMessage, label).not.toMatch(/\n/);
    }
  }

  const outcome = await loadWeights(fileSystemHandler(dir)).then(
    ({ model }) => {
      model.dispose();
      return undefined;
    },
    (error: unknown) => error as Error,
  );
  if (outcome === undefined) {
    expect(ruleMessage, `${label}: the loader accepted what the rule refused`).toBeUndefined();
    return 'loaded';
  }
  expect(
    [CheckpointError, WeightsFormatError, NonFiniteWeightsError].some((type) => outcome instanceof type),
    `${label}: ${outcome.name}: ${outcome.message}`,
  ).toBe(true);
  expect(outcome.message, label).not.toMatch(INTERNAL_MESSAGE);
  if (outcome instanceof CheckpointError) {
    expect(outcome.message, label).toContain(dir);
    expect(outcome.message, label).not.toMatch(/\n/);
  }
  if (outcome instanceof WeightsFormatError) expect(outcome.problems.length, label).toBeGreaterThan(0);
  if (ruleMessage !== undefined) expect(outcome.message, label).toBe(`${modelJsonPath}: ${ruleMessage}`);
  return 'refused';
}

function parseOrUndefined(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

describe('model.json fuzz', () => {
  it('loads the unmutated model.json (so a refusal below is the mutation, not the setup)', async () => {
    expect(await checkMutant({ seed: 0, how: 'none', bytes: original })).toBe('loaded');
  });

  it('gives a valid model or a typed, named refusal for byte-level mutants of the JSON text', async () => {
    const before = tf.memory().numTensors;
    const outcomes = { loaded: 0, refused: 0 };
    for (const mutant of mutants(original, 300, 1)) outcomes[await checkMutant(mutant)]++;
    expect(tf.memory().numTensors).toBe(before);
    // Both outcomes occur, or the mutator would not be exercising the checks.
    expect(outcomes.loaded).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('gives a valid model or a typed, named refusal for structural mutants of the manifest', async () => {
    const before = tf.memory().numTensors;
    const outcomes = { loaded: 0, refused: 0 };
    for (const mutant of structuralMutants(original, 300, 2)) outcomes[await checkMutant(mutant)]++;
    expect(tf.memory().numTensors).toBe(before);
    expect(outcomes.refused).toBeGreaterThan(250);
  });
});
