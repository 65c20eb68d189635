import { describe, expect, it } from 'vitest';
import {
  checkWeightSpecs,
  checkWeightsManifest,
  MAX_WEIGHTS_BYTES,
  MAX_WEIGHTS_FILES,
  WeightsManifestError,
} from './weights-manifest';

const KERNEL = { name: 'C1/kernel', shape: [5, 5, 1, 6], dtype: 'float32' };
const BIAS = { name: 'C1/bias', shape: [6], dtype: 'float32' };

/** A manifest of one group, the way saveWeights + a file handler write it, with `paths` and `weights` swappable. */
function manifest(paths: unknown = ['weights.bin'], weights: unknown = [KERNEL, BIAS]): unknown {
  return [{ paths, weights }];
}

/** The error checkWeightsManifest throws for `value`; fails the test if it returns instead. */
function refusal(value: unknown): WeightsManifestError {
  try {
    checkWeightsManifest(value);
  } catch (error) {
    expect(error).toBeInstanceOf(WeightsManifestError);
    expect((error as Error).message).not.toMatch(/\n/);
    return error as WeightsManifestError;
  }
  throw new Error(`checkWeightsManifest accepted ${JSON.stringify(value)}`);
}

describe('checkWeightsManifest', () => {
  it('returns the groups, their specs and their byte sizes', () => {
    const checked = checkWeightsManifest([
      { paths: ['weights.bin'], weights: [KERNEL, BIAS] },
      {
        paths: ['shards/group2-shard1of2.bin', 'shards/group2-shard2of2.bin'],
        weights: [{ ...BIAS, dtype: 'int32' }],
      },
      { paths: [], weights: [{ name: 'empty', shape: [0, 9007199254740991], dtype: 'float32' }] },
    ]);
    expect(checked.groups.map((g) => g.byteLength)).toEqual([(150 + 6) * 4, 6 * 4, 0]);
    expect(checked.byteLength).toBe(648);
    expect(checked.groups[0]!.weights).toEqual([KERNEL, BIAS]);
    expect(checked.groups[1]!.paths).toEqual(['shards/group2-shard1of2.bin', 'shards/group2-shard2of2.bin']);
  });

  it('keeps only the fields tfjs reads, and sizes quantized weights as stored', () => {
    const quantized = {
      ...KERNEL,
      group: 'model',
      quantization: { dtype: 'uint8', scale: 0.5, min: -1 },
      extra: { nested: 'junk' },
    };
    const checked = checkWeightsManifest(
      manifest(undefined, [quantized, { ...BIAS, quantization: { dtype: 'float16' } }]),
    );
    expect(checked.groups[0]!.weights).toEqual([
      { ...KERNEL, group: 'model', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { ...BIAS, quantization: { dtype: 'float16' } },
    ]);
    expect(checked.byteLength).toBe(150 * 1 + 6 * 2);
  });

  it.each([
    ['../../../../etc/passwd', 'leaves the model folder'],
    ['../model-next-door/weights.bin', 'leaves the model folder'],
    ['shards/../../weights.bin', 'leaves the model folder'],
    ['/etc/passwd', 'is absolute'],
    ['/dev/zero', 'is absolute'],
    ['//elsewhere.example/weights.bin', 'is absolute'],
    ['C:\\x', 'names a drive'],
    ['c:weights.bin', 'names a drive'],
    ['file:///etc/passwd', 'is a URL'],
    ['http://elsewhere/', 'is a URL'],
    ['data:application/octet-stream;base64,AAAA', 'is a URL'],
    ['javascript:alert(1)', 'is a URL'],
    ['shards\\weights.bin', 'contains a backslash'],
    ['./weights.bin', 'has a "." segment'],
    ['shards//weights.bin', 'has an empty segment'],
    ['shards/', 'has an empty segment'],
    ['', 'is empty'],
    ['weights.bin?download=1', 'contains "?", "#" or "%"'],
    ['weights.bin#x', 'contains "?", "#" or "%"'],
    ['%2e%2e/%2e%2e/etc/passwd', 'contains "?", "#" or "%"'],
    ['.hidden', 'has a segment starting with "."'],
    ['...', 'has a segment starting with "."'],
    ['weights bin', "contains ' '"],
    ['wéights.bin', "contains 'é'"],
    ['weights.bin\n', "contains '\\n'"],
  ])('refuses the path %j: %s', (path, why) => {
    const error = refusal(manifest([path]));
    expect(error.entry).toBe('weightsManifest[0].paths[0]');
    expect(error.message).toContain(why);
    expect(error.message).toContain('a weights path must be a file name inside the model folder');
  });

  it('names the offending path in one line, as a user reads it', () => {
    expect(refusal(manifest(['weights.bin', '../../etc/passwd'])).message).toBe(
      "weightsManifest[0].paths[1] '../../etc/passwd' leaves the model folder; a weights path must be a file " +
        'name inside the model folder (letters, digits, ".", "_", "-", with "/" between folder names), as ' +
        'saveWeights writes it',
    );
  });

  it.each([
    [{ weightsManifest: [] }, 'weightsManifest is an object, expected an array of { paths, weights } groups'],
    [undefined, 'weightsManifest is missing, expected an array of { paths, weights } groups'],
    [[null], 'weightsManifest[0] is null, expected a { paths, weights } object'],
    [manifest('x'), "weightsManifest[0].paths is 'x', expected an array of file names"],
    [manifest([7]), 'weightsManifest[0].paths[0] is 7, expected a file name'],
    [
      manifest(undefined, 'x'),
      "weightsManifest[0].weights is 'x', expected an array of { name, shape, dtype } weight specs",
    ],
    [
      manifest(undefined, [[1, 2]]),
      'weightsManifest[0].weights[0] is an array of 2, expected a weight spec { name, shape, dtype }',
    ],
    [
      manifest(undefined, [{ ...KERNEL, name: 5 }]),
      "weightsManifest[0].weights[0].name is 5, expected the weight's name",
    ],
    [
      manifest(undefined, [{ ...KERNEL, shape: 5 }]),
      "weightsManifest[0].weights[0].shape of 'C1/kernel' is 5, expected an array of sizes such as [5,5,1,6]",
    ],
    [
      manifest(undefined, [BIAS, { ...KERNEL, shape: [5, -1] }]),
      "weightsManifest[0].weights[1].shape[1] of 'C1/kernel' is -1, expected a whole number >= 0",
    ],
    [
      manifest(undefined, [{ ...KERNEL, shape: [2.5] }]),
      "weightsManifest[0].weights[0].shape[0] of 'C1/kernel' is 2.5, expected a whole number >= 0",
    ],
    [
      manifest(undefined, [{ ...KERNEL, shape: ['5'] }]),
      "weightsManifest[0].weights[0].shape[0] of 'C1/kernel' is '5', expected a whole number >= 0",
    ],
    [
      manifest(undefined, [{ ...KERNEL, shape: [1e300] }]),
      "weightsManifest[0].weights[0].shape[0] of 'C1/kernel' is 1e+300, expected a whole number >= 0",
    ],
    [
      manifest(undefined, [{ ...KERNEL, dtype: 'string' }]),
      "weightsManifest[0].weights[0].dtype of 'C1/kernel' is 'string', expected one of float32, int32, bool, complex64",
    ],
    [
      manifest(undefined, [{ ...KERNEL, dtype: 'toString' }]),
      "weightsManifest[0].weights[0].dtype of 'C1/kernel' is 'toString', expected one of float32, int32, bool, complex64",
    ],
    [
      manifest(undefined, [{ ...KERNEL, group: 'x' }]),
      "weightsManifest[0].weights[0].group of 'C1/kernel' is 'x', expected 'model' or 'optimizer'",
    ],
    [
      manifest(undefined, [{ ...KERNEL, quantization: null }]),
      "weightsManifest[0].weights[0].quantization of 'C1/kernel' is null, expected { dtype, scale, min }",
    ],
    [
      manifest(undefined, [{ ...KERNEL, quantization: { dtype: 'int4' } }]),
      "weightsManifest[0].weights[0].quantization.dtype of 'C1/kernel' is 'int4', expected one of uint8, uint16, float16",
    ],
    [
      manifest(undefined, [{ ...KERNEL, quantization: { dtype: 'uint8', min: 0 } }]),
      "weightsManifest[0].weights[0].quantization.scale of 'C1/kernel' is missing, expected a finite number",
    ],
    [
      manifest(undefined, [{ ...KERNEL, dtype: 'bool', quantization: { dtype: 'float16' } }]),
      "weightsManifest[0].weights[0].quantization of 'C1/kernel' is float16, which tfjs decodes only for float32 weights",
    ],
    [
      manifest([], [KERNEL]),
      "weightsManifest[0].paths is empty, but the group's weights take 600 bytes; list the files that hold them",
    ],
  ])('refuses a malformed manifest in one line naming the entry (%#)', (value, message) => {
    expect(refusal(value).message).toBe(message);
  });

  it('refuses weights over the byte limit, counting every group, before anything is allocated', () => {
    const huge = {
      name: 'huge',
      shape: [9007199254740991, 9007199254740991, 9007199254740991],
      dtype: 'complex64',
    };
    expect(refusal(manifest(undefined, [huge])).message).toBe(
      "weightsManifest[0].weights[0] 'huge' of shape [9007199254740991,9007199254740991,9007199254740991] " +
        `brings the weights over ${MAX_WEIGHTS_BYTES} bytes (64 MiB), the most a loader reads`,
    );
    const half = { name: 'half', shape: [MAX_WEIGHTS_BYTES / 8], dtype: 'float32' };
    expect(checkWeightsManifest(manifest(undefined, [half])).byteLength).toBe(MAX_WEIGHTS_BYTES / 2);
    const twoHalves = [
      { paths: ['a.bin'], weights: [half] },
      { paths: ['b.bin'], weights: [{ ...half, name: 'second' }] },
    ];
    expect(checkWeightsManifest(twoHalves).byteLength).toBe(MAX_WEIGHTS_BYTES);
    const error = refusal([...twoHalves, { paths: ['c.bin'], weights: [{ ...BIAS, shape: [1] }] }]);
    expect(error.entry).toBe('weightsManifest[2].weights[0]');
  });

  it('refuses more weights files than a loader opens', () => {
    const paths = Array.from({ length: MAX_WEIGHTS_FILES + 1 }, (_, i) => `shard${i}.bin`);
    expect(refusal(manifest(paths)).message).toBe(
      `weightsManifest[0].paths brings the manifest to more than ${MAX_WEIGHTS_FILES} weights files, the most a loader opens`,
    );
  });

  it('cuts long and multi-line values short in messages', () => {
    const message = refusal(manifest([`../${'x'.repeat(500)}\nsecond line`])).message;
    expect(message).toMatch(/^weightsManifest\[0\]\.paths\[0\] '\.\.\/x{74}\.\.\.' leaves the model folder/);
  });
});

describe('checkWeightSpecs', () => {
  it('checks a handler-provided spec list under the name it is given', () => {
    expect(checkWeightSpecs([KERNEL, BIAS]).byteLength).toBe(624);
    expect(() => checkWeightSpecs([{ name: 'x', shape: 'big', dtype: 'float32' }])).toThrow(
      "weightSpecs[0].shape of 'x' is 'big', expected an array of sizes such as [5,5,1,6]",
    );
    expect(() => checkWeightSpecs(null)).toThrow(WeightsManifestError);
  });
});
