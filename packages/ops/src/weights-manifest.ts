import type * as tf from '@tensorflow/tfjs-core';

/**
 * The most weight bytes a manifest may describe, all groups together. LeNet-5's weights take a few hundred
 * kilobytes; the limit only stops a hostile manifest from making a loader allocate or read without end.
 */
export const MAX_WEIGHTS_BYTES = 64 * 1024 * 1024;

/** The largest `model.json` a loader reads: far above a real one, far below a memory problem. */
export const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

/** The most weights files a manifest may list (LeNet-5's has one). */
export const MAX_WEIGHTS_FILES = 256;

/** Thrown by {@link checkWeightsManifest} and {@link checkWeightSpecs}: one line that names the bad entry. */
export class WeightsManifestError extends Error {
  /** Where the problem is, e.g. `weightsManifest[0].paths[0]`. */
  readonly entry: string;

  constructor(entry: string, problem: string) {
    super(`${entry} ${problem}`);
    this.name = 'WeightsManifestError';
    this.entry = entry;
  }
}

/** One checked group of a weights manifest: files that, concatenated, hold its weights in order. */
export interface CheckedWeightsGroup {
  /** File names relative to the model folder, each safe to join to a folder path or resolve against a URL. */
  readonly paths: readonly string[];
  /** The weight specs, rebuilt with only the fields tfjs reads. */
  readonly weights: readonly tf.io.WeightsManifestEntry[];
  /** How many bytes the group's files hold together: the sum of its weights' byte sizes. */
  readonly byteLength: number;
}

/** A weights manifest that passed {@link checkWeightsManifest}. */
export interface CheckedWeightsManifest {
  readonly groups: readonly CheckedWeightsGroup[];
  /** The bytes of all groups together, at most {@link MAX_WEIGHTS_BYTES}. */
  readonly byteLength: number;
}

/** Bytes per stored value, for the dtypes whose size the manifest alone determines ('string' has none). */
const BYTES_PER_VALUE = { float32: 4, int32: 4, bool: 1, complex64: 8 } as const;
const QUANTIZED_BYTES_PER_VALUE = { uint8: 1, uint16: 2, float16: 2 } as const;

const PATH_ADVICE =
  'a weights path must be a file name inside the model folder (letters, digits, ".", "_", "-", with "/" ' +
  'between folder names), as saveWeights writes it';

/**
 * Checks the `weightsManifest` of a parsed `model.json` from an untrusted source, the same way in Node and in
 * browsers, and returns it in a checked form. Every path must be a plain relative name inside the model folder:
 * segments of `[A-Za-z0-9._-]` that do not start with `.`, joined by `/`. That excludes `..` and `.`, absolute
 * paths, drive letters, URL schemes, backslashes, empty segments, `?`, `#` and percent-encoding. The same string
 * is a file-system path in Node (POSIX or Windows) and a relative URL in a browser; only in this character set
 * do all of them read it the same way, so one check suffices for both. Every spec needs a string name, a shape
 * of whole numbers >= 0, a dtype of fixed size and, if quantized, a quantization tfjs can decode. The weights
 * of all groups may take at most {@link MAX_WEIGHTS_BYTES}.
 * @throws {@link WeightsManifestError} naming the first bad entry.
 */
export function checkWeightsManifest(weightsManifest: unknown): CheckedWeightsManifest {
  if (!Array.isArray(weightsManifest)) {
    throw new WeightsManifestError(
      'weightsManifest',
      `is ${describeValue(weightsManifest)}, expected an array of { paths, weights } groups`,
    );
  }
  const groups: CheckedWeightsGroup[] = [];
  let byteLength = 0;
  let fileCount = 0;
  for (const [g, group] of weightsManifest.entries()) {
    const where = `weightsManifest[${g}]`;
    if (!isPlainObject(group)) {
      throw new WeightsManifestError(
        where,
        `is ${describeValue(group)}, expected a { paths, weights } object`,
      );
    }
    const paths = checkPaths(group['paths'], `${where}.paths`);
    fileCount += paths.length;
    if (fileCount > MAX_WEIGHTS_FILES) {
      throw new WeightsManifestError(
        `${where}.paths`,
        `brings the manifest to more than ${MAX_WEIGHTS_FILES} weights files, the most a loader opens`,
      );
    }
    const checked = checkWeightSpecs(group['weights'], `${where}.weights`, MAX_WEIGHTS_BYTES - byteLength);
    if (paths.length === 0 && checked.byteLength > 0) {
      throw new WeightsManifestError(
        `${where}.paths`,
        `is empty, but the group's weights take ${checked.byteLength} bytes; list the files that hold them`,
      );
    }
    byteLength += checked.byteLength;
    groups.push({ paths, weights: checked.weights, byteLength: checked.byteLength });
  }
  return { groups, byteLength };
}

/**
 * Checks a list of weight specs (a manifest group's `weights`, or a handler's `weightSpecs`) and returns them
 * rebuilt with only the fields tfjs reads, plus their byte size.
 * @param where How to name the list in messages, e.g. `weightsManifest[0].weights`.
 * @param maxBytes The most bytes the specs may take together.
 * @throws {@link WeightsManifestError} naming the first bad spec.
 */
export function checkWeightSpecs(
  specs: unknown,
  where = 'weightSpecs',
  maxBytes = MAX_WEIGHTS_BYTES,
): { weights: tf.io.WeightsManifestEntry[]; byteLength: number } {
  if (!Array.isArray(specs)) {
    throw new WeightsManifestError(
      where,
      `is ${describeValue(specs)}, expected an array of { name, shape, dtype } weight specs`,
    );
  }
  const weights: tf.io.WeightsManifestEntry[] = [];
  let byteLength = 0;
  for (const [i, spec] of specs.entries()) {
    const { entry, bytes } = checkSpec(spec, `${where}[${i}]`, maxBytes - byteLength);
    weights.push(entry);
    byteLength += bytes;
  }
  return { weights, byteLength };
}

function checkPaths(paths: unknown, where: string): string[] {
  if (!Array.isArray(paths)) {
    throw new WeightsManifestError(where, `is ${describeValue(paths)}, expected an array of file names`);
  }
  return paths.map((path, i) => checkPath(path, `${where}[${i}]`));
}

// Longer names are no file a trainer writes, and some file systems refuse them anyway.
const MAX_PATH_LENGTH = 1024;

function checkPath(path: unknown, where: string): string {
  if (typeof path !== 'string') {
    throw new WeightsManifestError(where, `is ${describeValue(path)}, expected a file name`);
  }
  const bad = (why: string) => new WeightsManifestError(where, `${quote(path)} ${why}; ${PATH_ADVICE}`);
  if (path === '') throw bad('is empty');
  if (path.length > MAX_PATH_LENGTH) throw bad(`is longer than ${MAX_PATH_LENGTH} characters`);
  // The specific reasons first, so the message says what the path tries to do; the character set decides.
  if (/^[A-Za-z]:/.test(path)) throw bad('names a drive, so it leaves the model folder');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) throw bad('is a URL, so it leaves the model folder');
  if (path.startsWith('/') || path.startsWith('\\')) throw bad('is absolute, so it leaves the model folder');
  if (path.includes('\\')) throw bad('contains a backslash, a folder separator on Windows and in URLs');
  const segments = path.split('/');
  if (segments.includes('..')) throw bad('leaves the model folder');
  if (segments.includes('.')) throw bad('has a "." segment');
  if (segments.includes('')) throw bad('has an empty segment ("//" or a trailing "/")');
  if (/[?#%]/.test(path))
    throw bad('contains "?", "#" or "%", which a URL would not read as part of a file name');
  const hidden = segments.find((segment) => segment.startsWith('.'));
  if (hidden !== undefined) throw bad(`has a segment starting with "." (${quote(hidden)})`);
  const other = /[^A-Za-z0-9._/-]/.exec(path);
  if (other !== null) throw bad(`contains ${quote(other[0])}`);
  return path;
}

function checkSpec(
  spec: unknown,
  where: string,
  maxBytes: number,
): { entry: tf.io.WeightsManifestEntry; bytes: number } {
  if (!isPlainObject(spec)) {
    throw new WeightsManifestError(
      where,
      `is ${describeValue(spec)}, expected a weight spec { name, shape, dtype }`,
    );
  }
  const name = spec['name'];
  if (typeof name !== 'string' || name === '') {
    throw new WeightsManifestError(`${where}.name`, `is ${describeValue(name)}, expected the weight's name`);
  }
  // Messages about a field name the weight too: "weightsManifest[0].weights[2].shape of 'C3/kernel' is ...".
  const of = `of ${quote(name)}`;
  const shape = spec['shape'];
  if (!Array.isArray(shape)) {
    throw new WeightsManifestError(
      `${where}.shape`,
      `${of} is ${describeValue(shape)}, expected an array of sizes such as [5,5,1,6]`,
    );
  }
  for (const [d, size] of shape.entries()) {
    if (!Number.isSafeInteger(size) || (size as number) < 0) {
      throw new WeightsManifestError(
        `${where}.shape[${d}]`,
        `${of} is ${describeValue(size)}, expected a whole number >= 0`,
      );
    }
  }
  const dtype = spec['dtype'];
  if (!Object.hasOwn(BYTES_PER_VALUE, dtype as string)) {
    throw new WeightsManifestError(
      `${where}.dtype`,
      `${of} is ${describeValue(dtype)}, expected one of ${Object.keys(BYTES_PER_VALUE).join(', ')}`,
    );
  }
  const entry: tf.io.WeightsManifestEntry = {
    name,
    shape: [...shape] as number[],
    dtype: dtype as keyof typeof BYTES_PER_VALUE,
  };
  let bytesPerValue: number = BYTES_PER_VALUE[entry.dtype as keyof typeof BYTES_PER_VALUE];
  if (spec['group'] !== undefined) {
    if (spec['group'] !== 'model' && spec['group'] !== 'optimizer') {
      throw new WeightsManifestError(
        `${where}.group`,
        `${of} is ${describeValue(spec['group'])}, expected 'model' or 'optimizer'`,
      );
    }
    entry.group = spec['group'];
  }
  // tfjs decodes with the quantization whenever the key exists, whatever its value, so its presence is checked.
  if ('quantization' in spec) {
    entry.quantization = checkQuantization(spec['quantization'], entry.dtype, `${where}.quantization`, of);
    bytesPerValue = QUANTIZED_BYTES_PER_VALUE[entry.quantization.dtype];
  }
  // A huge shape makes the product Infinity, which the limit refuses like any other size over it.
  const values = entry.shape.includes(0) ? 0 : entry.shape.reduce((product, size) => product * size, 1);
  const bytes = values * bytesPerValue;
  if (bytes > maxBytes) {
    throw new WeightsManifestError(
      where,
      `${quote(name)} of shape [${entry.shape.join(',')}] brings the weights over ${MAX_WEIGHTS_BYTES} bytes ` +
        `(${MAX_WEIGHTS_BYTES / 1024 / 1024} MiB), the most a loader reads`,
    );
  }
  return { entry, bytes };
}

function checkQuantization(
  value: unknown,
  dtype: tf.io.WeightsManifestEntry['dtype'],
  where: string,
  of: string,
): NonNullable<tf.io.WeightsManifestEntry['quantization']> {
  if (!isPlainObject(value)) {
    throw new WeightsManifestError(where, `${of} is ${describeValue(value)}, expected { dtype, scale, min }`);
  }
  const quantized = value['dtype'];
  if (quantized === 'float16') {
    if (dtype !== 'float32') {
      throw new WeightsManifestError(where, `${of} is float16, which tfjs decodes only for float32 weights`);
    }
    return { dtype: quantized };
  }
  if (quantized !== 'uint8' && quantized !== 'uint16') {
    throw new WeightsManifestError(
      `${where}.dtype`,
      `${of} is ${describeValue(quantized)}, expected one of ${Object.keys(QUANTIZED_BYTES_PER_VALUE).join(', ')}`,
    );
  }
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw new WeightsManifestError(
      where,
      `${of} is ${quantized}, which tfjs decodes only for float32 or int32 weights`,
    );
  }
  for (const key of ['scale', 'min'] as const) {
    if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) {
      throw new WeightsManifestError(
        `${where}.${key}`,
        `${of} is ${describeValue(value[key])}, expected a finite number`,
      );
    }
  }
  return { dtype: quantized, scale: value['scale'] as number, min: value['min'] as number };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Quoted and cut short, with control characters escaped, so a message stays one readable line.
function quote(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return `'${JSON.stringify(shown).slice(1, -1)}'`;
}

/** A short, one-line description of a JSON value for messages: `missing`, `null`, `'x'`, `5`, `an object`. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
