/**
 * Seeded structural mutations of a model.json's weights manifest, for the manifest fuzz tests in Node and
 * Chromium (tests only, never published). Byte-level mutations come from ./fuzz.
 */
import { createRng, type Rng } from '../packages/data/src/random';
import type { Mutant } from './fuzz';

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

/**
 * `count` mutants of a model.json (its bytes), each from one to three structural edits of its weights manifest:
 * wrong types, huge or negative sizes, hostile paths, deep nesting, deleted or duplicated parts.
 */
export function* structuralMutants(original: Uint8Array, count: number, seed: number): Generator<Mutant> {
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
