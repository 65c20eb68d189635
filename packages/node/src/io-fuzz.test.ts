import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, type Rng } from '@lenet/data';
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

/** Values a stranger could put anywhere: wrong types, huge and negative numbers, hostile paths, nested junk. */
const JUNK: unknown[] = [
  null,
  true,
  0,
  -1,
  2.5,
  1e308,
  2 ** 53,
  -(2 ** 31),
  '',
  'x',
  '../weights.bin',
  '/dev/zero',
  'C:\\x',
  'file:///etc/passwd',
  '%2e%2e/weights.bin',
  'weights.bin',
  'float64',
  'string',
  'int32',
  [],
  [null],
  [-1],
  [1e9, 1e9, 1e9],
  [2 ** 40],
  ['5'],
  {},
  { paths: 'x' },
  { dtype: 'uint8', scale: 1e308, min: 0 },
  { dtype: 'float16' },
  nested(64),
];

function nested(depth: number): unknown {
  let value: unknown = ['junk'];
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value, i];
  return value;
}

type Json = Record<string, unknown>;

function pick<T>(random: Rng, items: readonly T[]): T {
  return items[random.int(items.length)]!;
}

/** One structural edit of a parsed model.json: replaces, deletes or adds a part of its weights manifest. */
function structuralEdit(json: Json, random: Rng): string {
  const junk = structuredClone(pick(random, JUNK));
  const shown = (JSON.stringify(junk) ?? 'undefined').slice(0, 40);
  const groups = json['weightsManifest'];
  if (!Array.isArray(groups) || groups.length === 0 || random.int(20) === 0) {
    json['weightsManifest'] = junk;
    return `weightsManifest = ${shown}`;
  }
  const g = random.int(groups.length);
  const group = groups[g];
  if (typeof group !== 'object' || group === null || random.int(20) === 0) {
    groups[g] = junk;
    return `weightsManifest[${g}] = ${shown}`;
  }
  const fields = group as Json;
  switch (random.int(5)) {
    case 0:
      fields['paths'] = junk;
      return `weightsManifest[${g}].paths = ${shown}`;
    case 1:
      if (Array.isArray(fields['paths'])) {
        const i = random.int(fields['paths'].length + 1);
        fields['paths'][i] = junk;
        return `weightsManifest[${g}].paths[${i}] = ${shown}`;
      }
      fields['weights'] = junk;
      return `weightsManifest[${g}].weights = ${shown}`;
    case 2:
      groups.push(structuredClone(group));
      return `weightsManifest[${groups.length - 1}] = copy of group ${g}`;
    default: {
      const specs = fields['weights'];
      if (!Array.isArray(specs) || specs.length === 0) {
        fields['weights'] = junk;
        return `weightsManifest[${g}].weights = ${shown}`;
      }
      const s = random.int(specs.length);
      const spec = specs[s];
      const where = `weightsManifest[${g}].weights[${s}]`;
      if (typeof spec !== 'object' || spec === null || random.int(10) === 0) {
        specs[s] = junk;
        return `${where} = ${shown}`;
      }
      const key = pick(random, ['name', 'shape', 'dtype', 'quantization', 'group']);
      const specFields = spec as Json;
      if (key === 'shape' && Array.isArray(specFields['shape']) && random.int(2) === 0) {
        const d = random.int(specFields['shape'].length + 1);
        specFields['shape'][d] = pick(random, [0, -1, 1e9, 2 ** 53, 2.5, '5', null]);
        return `${where}.shape[${d}] = ${JSON.stringify(specFields['shape'][d])}`;
      }
      if (random.int(8) === 0) {
        delete specFields[key];
        return `delete ${where}.${key}`;
      }
      specFields[key] = junk;
      return `${where}.${key} = ${shown}`;
    }
  }
}

function* structuralMutants(count: number, seed: number): Generator<Mutant> {
  const base = JSON.parse(new TextDecoder().decode(original)) as Json;
  for (let i = 0; i < count; i++) {
    const mutantSeed = seed + i * 7919;
    const random = createRng(mutantSeed);
    const json = structuredClone(base);
    const edits: string[] = [];
    for (let e = 1 + random.int(3); e > 0; e--) edits.push(structuralEdit(json, random));
    yield { seed: mutantSeed, how: edits.join('; '), bytes: new TextEncoder().encode(JSON.stringify(json)) };
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
    for (const mutant of structuralMutants(300, 2)) outcomes[await checkMutant(mutant)]++;
    expect(tf.memory().numTensors).toBe(before);
    expect(outcomes.refused).toBeGreaterThan(250);
  });
});
