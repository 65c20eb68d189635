import type { Preprocessing } from '@lenet/data';
import {
  checkWeightsManifest,
  describeNonFiniteWeights,
  findNonFiniteWeights,
  type LeNet5,
  type loadWeights,
  MAX_MODEL_JSON_BYTES,
  MAX_WEIGHTS_BYTES,
  type NonFiniteWeight,
  NonFiniteWeightsError,
  saveWeights,
  WeightsFormatError,
} from '@lenet/ops';
import {
  exportSafetensors,
  importPyTorchWeights,
  PYTORCH_READ_LIMITS,
  PyTorchFormatError,
  SAFETENSORS_METADATA_KEYS,
  StateDictMismatchError,
} from '@lenet/ops/pytorch';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkPreprocessing,
  DEFAULT_PREPROCESSING,
  type LoadedWeights,
  loadManifestWeights,
  WeightsLoadError,
} from './weights';

/** The names {@link weightsDownloads} gives its files, which {@link weightsFromFiles} reads back. */
export const WEIGHTS_FILE_NAMES = Object.freeze({
  /** The TF.js manifest: metadata (preprocessing included) and the weight specs. */
  modelJson: 'model.json',
  /** The TF.js weights the manifest lists: every float32 value, in the manifest's order. */
  weightsBin: 'weights.bin',
  /** The weights in the seed's PyTorch names and layouts, for `safetensors.torch.load_file`. */
  safetensors: 'lenet5.safetensors',
});

/**
 * The largest `.safetensors`, `.pt` or `.pth` that {@link weightsFromFiles} reads: room for the most tensor
 * bytes a TF.js manifest may describe plus the largest pickle `@lenet/ops/pytorch` reads (a safetensors
 * header may take less). The seed's LeNet-5 takes about 250 KB.
 */
export const MAX_PYTORCH_FILE_BYTES = MAX_WEIGHTS_BYTES + PYTORCH_READ_LIMITS.pickleBytes;

/**
 * A file the page was given: its bytes, or a `File`/`Blob`-like object (what an `<input type="file">` or a drop
 * gives), which is read only once its size has passed the caps.
 */
export type WeightsFileInput =
  | { readonly name: string; readonly bytes: Uint8Array }
  | { readonly name: string; readonly size: number; arrayBuffer(): Promise<ArrayBuffer> };

/** Where the weights {@link weightsFromFiles} loaded came from. */
export type WeightsFileFormat = 'tfjs' | 'safetensors' | 'pt';

/** What {@link weightsFromFiles} loaded: a new model, its preprocessing, and the format of the files. */
export interface LoadedWeightsFiles extends LoadedWeights {
  format: WeightsFileFormat;
}

/** Options of {@link weightsFromFiles}. */
export interface WeightsFromFilesOptions {
  /**
   * Load weights that hold NaN or ±Infinity instead of refusing them (default false); they are then listed
   * in `nonFinite`, and the page should warn.
   */
  allowNonFinite?: boolean;
}

/** A file for the browser to save: its name, bytes and MIME type (e.g. for `new Blob([bytes], { type })`). */
export interface WeightsDownload {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
  type: string;
}

const TFJS_ADVICE = `Choose the ${WEIGHTS_FILE_NAMES.modelJson} and ${WEIGHTS_FILE_NAMES.weightsBin} of one save together (as 'lenet train' or this page's download wrote them).`;
const PYTORCH_ADVICE =
  "Choose the seed LeNet_5's state_dict saved with torch.save(model.state_dict(), path), or a .safetensors written by 'lenet export' or this page's download.";
const ANY_ADVICE = `Choose ${WEIGHTS_FILE_NAMES.modelJson} with its ${WEIGHTS_FILE_NAMES.weightsBin} (TF.js), one .safetensors, or one PyTorch .pt/.pth.`;

/**
 * Loads LeNet-5 weights from files a user chose or dropped, without Node APIs: a TF.js `model.json` with the
 * weights files its manifest lists (`weights.bin`), one `.safetensors`, or one PyTorch `.pt`/`.pth` (the seed's
 * `torch.save(model.state_dict(), path)`). The files are untrusted: every size is capped before a file is read
 * (`model.json` at `MAX_MODEL_JSON_BYTES`, the weights files at exactly what their manifest describes, a
 * PyTorch file at {@link MAX_PYTORCH_FILE_BYTES}), the manifest must pass `checkWeightsManifest` of
 * `@lenet/ops`, and the PyTorch readers execute nothing. Every file given must be used.
 *
 * Returns a new model (the caller owns it: dispose it), so a model the page already has is never touched, and
 * stays as it was when loading fails. The preprocessing is what the files record; when they record none, TF.js
 * weights are assumed to want `DEFAULT_PREPROCESSING` and PyTorch weights the seed's (bilinear resize, no
 * normalisation), with `preprocessingRecorded: false`.
 * @throws {@link WeightsLoadError} with one line that names the file, says what is wrong and what to do: for no
 *   file or an unknown kind of file, a `model.json` without its weights files (or with files it does not list),
 *   a file too large, corrupt or truncated, weights of the wrong names or shapes, weights that hold NaN or
 *   ±Infinity (unless `allowNonFinite`), or an unknown preprocessing. No tensor is left behind.
 */
export async function weightsFromFiles(
  files: ReadonlyArray<WeightsFileInput>,
  options: WeightsFromFilesOptions = {},
): Promise<LoadedWeightsFiles> {
  if (files.length === 0) throw new WeightsLoadError(`No file was chosen. ${ANY_ADVICE}`);
  for (const file of files) checkInput(file);
  const manifests = files.filter((file) => kindOf(file.name) === 'manifest');
  const pytorch = files.filter((file) => kindOf(file.name) === 'pytorch');
  if (manifests.length > 1) {
    throw new WeightsLoadError(
      `${names(manifests)} are ${manifests.length} manifests; choose one. ${TFJS_ADVICE}`,
    );
  }
  if (manifests.length === 1 && pytorch.length > 0) {
    throw new WeightsLoadError(
      `${names([...manifests, ...pytorch])} are weights in two formats; choose either ` +
        `${manifests[0]!.name} with its weights files, or ${pytorch[0]!.name} alone.`,
    );
  }
  if (manifests.length === 1) {
    const manifest = manifests[0]!;
    return loadTfjs(
      manifest,
      files.filter((file) => file !== manifest),
      options,
    );
  }
  if (pytorch.length > 1) {
    throw new WeightsLoadError(`${names(pytorch)} are ${pytorch.length} PyTorch weights files; choose one.`);
  }
  if (pytorch.length === 1) {
    const others = files.filter((file) => file !== pytorch[0]);
    if (others.length > 0) {
      throw new WeightsLoadError(
        `${names(others)} ${others.length === 1 ? 'is' : 'are'} not needed with ${pytorch[0]!.name}; ` +
          `choose ${pytorch[0]!.name} alone.`,
      );
    }
    return loadPyTorch(pytorch[0]!, options);
  }
  const bin = files.find((file) => lowerBaseName(file.name).endsWith('.bin'));
  if (bin !== undefined) {
    throw new WeightsLoadError(
      `${bin.name} holds only the numbers of TF.js weights, without their ${WEIGHTS_FILE_NAMES.modelJson}. ` +
        TFJS_ADVICE,
    );
  }
  throw new WeightsLoadError(
    `${names(files)} ${files.length === 1 ? 'is not a weights file' : 'are not weights files'} this page reads ` +
      `(unknown extension). ${ANY_ADVICE}`,
  );
}

/**
 * The model's weights as files for the browser to save, in the two formats {@link weightsFromFiles} reads
 * back: TF.js ({@link WEIGHTS_FILE_NAMES} `model.json` + `weights.bin`, through `saveWeights` of `@lenet/ops`;
 * `userDefinedMetadata` holds `metadata` and `preprocessing`, so loading them back gives the same preprocessing)
 * and `lenet5.safetensors` (through `exportSafetensors` of `@lenet/ops/pytorch`: the seed's names and layouts,
 * so `model.load_state_dict(safetensors.torch.load_file(path))` loads it into the seed's `LeNet_5`; it records
 * the preprocessing too). Values are float32 bit for bit; the model is not changed.
 * @throws TypeError for a preprocessing that is not `{ resize: 'pad' | 'bilinear', normalize: null | { mean, std > 0 } }`.
 */
export async function weightsDownloads(
  model: LeNet5,
  preprocessing: Preprocessing,
  metadata: Record<string, unknown> = {},
): Promise<WeightsDownload[]> {
  let checked: Preprocessing;
  try {
    checked = checkPreprocessing(preprocessing, 'weightsDownloads: the preprocessing');
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  let saved: tf.io.ModelArtifacts | undefined;
  await saveWeights(
    model,
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
    { ...metadata, preprocessing: checked },
  );
  const { format, generatedBy, convertedBy, weightSpecs, weightData, userDefinedMetadata } = saved!;
  // The fields of a TF.js model.json, as tf.io's own handlers write them.
  const modelJson = {
    format,
    generatedBy,
    convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_FILE_NAMES.weightsBin], weights: weightSpecs }],
    userDefinedMetadata,
  };
  const weightsBin = new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData));
  const safetensors = new Uint8Array(await exportSafetensors(model, checked));
  return [
    {
      name: WEIGHTS_FILE_NAMES.modelJson,
      bytes: new TextEncoder().encode(JSON.stringify(modelJson)),
      type: 'application/json',
    },
    { name: WEIGHTS_FILE_NAMES.weightsBin, bytes: weightsBin, type: 'application/octet-stream' },
    { name: WEIGHTS_FILE_NAMES.safetensors, bytes: safetensors, type: 'application/octet-stream' },
  ];
}

async function loadTfjs(
  manifestFile: WeightsFileInput,
  others: readonly WeightsFileInput[],
  options: WeightsFromFilesOptions,
): Promise<LoadedWeightsFiles> {
  const name = manifestFile.name;
  const bad = (why: string) => new WeightsLoadError(`${name} ${why}. ${TFJS_ADVICE}`);
  const manifestSize = sizeOf(manifestFile);
  if (manifestSize > MAX_MODEL_JSON_BYTES) {
    throw bad(`has ${manifestSize} bytes, more than the ${MAX_MODEL_JSON_BYTES} a model.json may have`);
  }
  const json = parseJson(await readFile(manifestFile, MAX_MODEL_JSON_BYTES));
  if (json === undefined) throw bad('is not JSON, so it is not a TF.js model.json');
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !('weightsManifest' in json)) {
    throw bad('is not a TF.js model.json: it has no weightsManifest');
  }
  const manifest = json as {
    weightsManifest: unknown;
    modelTopology?: tf.io.ModelArtifacts['modelTopology'];
    userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata'];
  };
  let checked: ReturnType<typeof checkWeightsManifest>;
  try {
    checked = checkWeightsManifest(manifest.weightsManifest);
  } catch (error) {
    throw bad(`is not a safe TF.js weights manifest: ${oneLine(error)}`);
  }

  // Which given file each manifest path names: the same name, or the same last segment (a browser gives
  // file names without folders). Every path is matched and every file used before anything is read.
  const unused = new Set(others);
  const missing: string[] = [];
  const groups = checked.groups.map((group) => {
    const matched: WeightsFileInput[] = [];
    for (const path of group.paths) {
      const exact = others.filter((file) => file.name === path);
      const candidates =
        exact.length > 0 ? exact : others.filter((file) => baseName(file.name) === baseName(path));
      if (candidates.length > 1) {
        throw bad(`lists '${path}', and ${candidates.length} of the chosen files have that name; choose one`);
      }
      if (candidates.length === 0) {
        missing.push(path);
        continue;
      }
      if (matched.includes(candidates[0]!) || !unused.has(candidates[0]!)) {
        throw bad(`lists '${path}' twice`);
      }
      unused.delete(candidates[0]!);
      matched.push(candidates[0]!);
    }
    return { group, files: matched };
  });
  if (missing.length > 0) {
    throw new WeightsLoadError(
      `${name} needs its weights file${missing.length === 1 ? '' : 's'} ${missing.map((p) => `'${p}'`).join(', ')}, ` +
        `which ${missing.length === 1 ? 'was' : 'were'} not chosen. ${TFJS_ADVICE}`,
    );
  }
  if (unused.size > 0) {
    throw new WeightsLoadError(
      `${names([...unused])} ${unused.size === 1 ? 'is' : 'are'} not listed in ${name} ` +
        `(it lists ${checked.groups.flatMap((g) => g.paths).join(', ') || 'no weights file'}). ${TFJS_ADVICE}`,
    );
  }
  for (const { group, files } of groups) {
    const total = files.reduce((sum, file) => sum + sizeOf(file), 0);
    if (total !== group.byteLength) {
      throw new WeightsLoadError(
        `${names(files)} ${files.length === 1 ? 'holds' : 'hold'} ${total} bytes, but ${name} describes ` +
          `${group.byteLength}: ${total < group.byteLength ? 'it is truncated' : 'it is too long'}, or from another save. ` +
          TFJS_ADVICE,
      );
    }
  }

  const parts: Uint8Array[] = [];
  for (const { files } of groups) {
    for (const file of files) parts.push(await readFile(file, sizeOf(file)));
  }
  const what = `${name} with ${names(groups.flatMap((g) => g.files)) || 'no weights file'}`;
  let loaded: Awaited<ReturnType<typeof loadWeights>>;
  try {
    loaded = await loadManifestWeights(manifest, checked, parts, options);
  } catch (error) {
    if (error instanceof NonFiniteWeightsError) throw nonFiniteError(what, error.weights);
    const detail = error instanceof WeightsFormatError ? listed(error.problems) : oneLine(error);
    throw new WeightsLoadError(`Cannot load ${what}: ${detail}. ${TFJS_ADVICE}`, { cause: error });
  }
  const { model, metadata, nonFinite } = loaded;
  try {
    const recorded = metadata['preprocessing'];
    const preprocessing = recorded === undefined ? DEFAULT_PREPROCESSING : checkPreprocessing(recorded, name);
    return {
      model,
      metadata,
      preprocessing,
      preprocessingRecorded: recorded !== undefined,
      nonFinite,
      format: 'tfjs',
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

async function loadPyTorch(
  file: WeightsFileInput,
  options: WeightsFromFilesOptions,
): Promise<LoadedWeightsFiles> {
  const name = file.name;
  const size = sizeOf(file);
  if (size > MAX_PYTORCH_FILE_BYTES) {
    throw new WeightsLoadError(
      `${name} has ${size} bytes, more than the ${MAX_PYTORCH_FILE_BYTES} a PyTorch weights file may have ` +
        `(the seed's LeNet-5 takes about 250 KB). ${PYTORCH_ADVICE}`,
    );
  }
  const bytes = await readFile(file, MAX_PYTORCH_FILE_BYTES);
  let imported: ReturnType<typeof importPyTorchWeights>;
  try {
    imported = importPyTorchWeights(bytes);
  } catch (error) {
    if (error instanceof StateDictMismatchError) {
      throw new WeightsLoadError(
        `${name} is not the seed's LeNet-5 state_dict: ${listed(error.problems)}. ${PYTORCH_ADVICE}`,
        { cause: error },
      );
    }
    const detail = oneLine(error);
    // The readers' messages often say what to do already; then one piece of advice is enough.
    const advice =
      error instanceof PyTorchFormatError && /\b(Save|save|Remove)\b/.test(detail)
        ? ''
        : ` ${PYTORCH_ADVICE}`;
    throw new WeightsLoadError(`${name} cannot be read as PyTorch weights: ${detail}.${advice}`, {
      cause: error,
    });
  }
  const { model, format, preprocessing, metadata } = imported;
  try {
    const nonFinite = await findNonFiniteWeights(model.params);
    if (nonFinite.length > 0 && options.allowNonFinite !== true) throw nonFiniteError(name, nonFinite);
    return {
      model,
      metadata,
      preprocessing,
      preprocessingRecorded: Object.hasOwn(metadata, SAFETENSORS_METADATA_KEYS.preprocessing),
      nonFinite,
      format,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function nonFiniteError(what: string, weights: readonly NonFiniteWeight[]): WeightsLoadError {
  return new WeightsLoadError(
    `${what} cannot be used: ${describeNonFiniteWeights(weights)}, so the model would predict nothing ` +
      'meaningful. Retrain the weights, or choose others.',
  );
}

function checkInput(file: WeightsFileInput): void {
  const named =
    typeof file === 'object' && file !== null && typeof file.name === 'string' && file.name !== '';
  const readable =
    named &&
    typeof (file as { arrayBuffer?: unknown }).arrayBuffer === 'function' &&
    Number.isSafeInteger((file as { size?: unknown }).size);
  if (!named || !(hasBytes(file) || readable)) {
    throw new WeightsLoadError(
      `${named ? file.name : 'A file without a name'} is neither { name, bytes: Uint8Array } nor a File; ` +
        'pass the files of an <input type="file"> or a drop as they come.',
    );
  }
}

type FileKind = 'manifest' | 'pytorch' | 'other';

function kindOf(name: string): FileKind {
  const lower = lowerBaseName(name);
  if (lower.endsWith('.json')) return 'manifest';
  if (lower.endsWith('.safetensors') || lower.endsWith('.pt') || lower.endsWith('.pth')) return 'pytorch';
  return 'other';
}

function baseName(name: string): string {
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
}

function lowerBaseName(name: string): string {
  return baseName(name).toLowerCase();
}

// By the value, not by `'bytes' in file`: a File has a bytes() method in recent browsers.
function hasBytes(file: WeightsFileInput): file is { name: string; bytes: Uint8Array } {
  return (file as { bytes?: unknown }).bytes instanceof Uint8Array;
}

function sizeOf(file: WeightsFileInput): number {
  return hasBytes(file) ? file.bytes.byteLength : (file as { size: number }).size;
}

/** The file's bytes; a File is read only here, after its size passed the caps, and at most `limit` are kept. */
async function readFile(file: WeightsFileInput, limit: number): Promise<Uint8Array> {
  if (hasBytes(file)) return file.bytes;
  const blob = file as { name: string; size: number; arrayBuffer(): Promise<ArrayBuffer> };
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await blob.arrayBuffer());
  } catch (error) {
    throw new WeightsLoadError(`${file.name} could not be read: ${oneLine(error)}. Choose the file again.`);
  }
  if (bytes.byteLength !== blob.size || bytes.byteLength > limit) {
    throw new WeightsLoadError(
      `${file.name} changed while it was read (${blob.size} bytes, then ${bytes.byteLength}). Choose the file again.`,
    );
  }
  return bytes;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** The files' names for a message: `a.bin`, `a.bin and b.bin`, `a.bin, b.bin and c.bin`. */
function names(files: readonly WeightsFileInput[]): string {
  const all = files.map((file) => file.name);
  return all.length <= 1 ? (all[0] ?? '') : `${all.slice(0, -1).join(', ')} and ${all.at(-1)}`;
}

// Lists of problems come from untrusted files: a few are enough to say what is wrong, on one line.
const PROBLEMS_SHOWN = 3;

function listed(problems: readonly string[]): string {
  const shown = problems.slice(0, PROBLEMS_SHOWN).join('; ');
  return problems.length > PROBLEMS_SHOWN ? `${shown}; and ${problems.length - PROBLEMS_SHOWN} more` : shown;
}

/** An error's message on one line, without a final full stop (the caller's sentence goes on). */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/\s*\n\s*/g, ' ')
    .trim()
    .replace(/\.$/, '');
}
