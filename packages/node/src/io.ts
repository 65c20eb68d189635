import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** The file names of a saved model, as `tf.io.http` and `tf.loadLayersModel` expect them. */
export const MODEL_JSON_FILE = 'model.json';
/** The single weights file that `model.json`'s manifest points to. */
export const WEIGHTS_FILE = 'weights.bin';

/** A checkpoint directory is missing, malformed, or inconsistent. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/**
 * Writes a file so that `path` holds either its old contents or all of `data`, never a part:
 * the data goes to a temporary file in the same directory, is flushed to disk, then renamed over
 * `path` (rename is atomic within a file system). The temporary file is removed on failure.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const directory = dirname(path);
  const temporaryPath = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temporaryPath, 'wx');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

// Makes the rename itself durable. Some platforms (Windows) cannot open a directory; the rename is
// still atomic there, only its durability across a power cut is weaker, so that is not an error.
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort, see above
  }
}

/**
 * A `tf.io.IOHandler` that stores a model in `dir` in the standard TF.js layout: `model.json`
 * (topology, metadata and a weights manifest pointing to `weights.bin`) plus `weights.bin`. The
 * same files load in a browser with `tf.io.http('<url>/model.json')`.
 *
 * `save` creates `dir` if needed and writes `weights.bin` first and `model.json` last, both
 * atomically, so a reader never finds a `model.json` whose weights are missing or partial.
 * `load` reads them back and checks that `weights.bin` has the size the manifest describes.
 * Both methods are always present (the return type says so, unlike `tf.io.IOHandler`).
 */
export function fileSystemHandler(dir: string): Required<tf.io.IOHandler> {
  const modelJsonPath = join(dir, MODEL_JSON_FILE);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new CheckpointError(
          `Cannot save to ${dir}: the model topology is binary (a GraphDef); only JSON topologies are supported.`,
        );
      }
      const weightSpecs = artifacts.weightSpecs ?? [];
      const weightData = new Uint8Array(
        artifacts.weightData == null
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
      );
      const weightsManifest: tf.io.WeightsManifestConfig = [{ paths: [WEIGHTS_FILE], weights: weightSpecs }];
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, WEIGHTS_FILE), weightData);
      await writeFileAtomic(modelJsonPath, JSON.stringify(modelJsonFor(artifacts, weightsManifest)));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const modelJson = await readModelJson(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJson, (manifest) => readWeights(dir, manifest));
    },
  };
}

// The fields tfjs itself writes to model.json (its getModelJSONForModelArtifacts is not public).
function modelJsonFor(
  artifacts: tf.io.ModelArtifacts,
  weightsManifest: tf.io.WeightsManifestConfig,
): tf.io.ModelJSON {
  const { modelTopology, format, generatedBy, convertedBy, signature, userDefinedMetadata } = artifacts;
  const { modelInitializer, initializerSignature, trainingConfig } = artifacts;
  return {
    modelTopology: modelTopology as object,
    format,
    generatedBy,
    convertedBy,
    weightsManifest,
    ...(signature != null && { signature }),
    ...(userDefinedMetadata != null && { userDefinedMetadata }),
    ...(modelInitializer != null && { modelInitializer }),
    ...(initializerSignature != null && { initializerSignature }),
    ...(trainingConfig != null && { trainingConfig }),
  };
}

async function readModelJson(modelJsonPath: string): Promise<tf.io.ModelJSON> {
  let text: string;
  try {
    text = await readFile(modelJsonPath, 'utf8');
  } catch (error) {
    if (isNotFound(error)) {
      const dir = dirname(modelJsonPath);
      const what = (await isDirectory(dir))
        ? `${modelJsonPath} does not exist`
        : `the directory ${dir} does not exist`;
      throw new CheckpointError(
        `No saved model in ${dir}: ${what}. Check the path, or train a model first to create it.`,
        { cause: error },
      );
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(
      `${modelJsonPath} is not valid JSON (${(error as Error).message}). The file is damaged; ` +
        'restore it or save the model again.',
      { cause: error },
    );
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !Array.isArray((parsed as tf.io.ModelJSON).weightsManifest)
  ) {
    throw new CheckpointError(
      `${modelJsonPath} is not a TF.js model.json: it has no "weightsManifest" array. ` +
        'Point to a directory written by fileSystemHandler or tf.io.',
    );
  }
  return parsed as tf.io.ModelJSON;
}

async function readWeights(
  dir: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest) {
    const groupBytes: Uint8Array[] = [];
    for (const relativePath of group.paths) {
      const path = join(dir, relativePath);
      try {
        groupBytes.push(await readFile(path));
      } catch (error) {
        if (isNotFound(error)) {
          throw new CheckpointError(
            `${join(dir, MODEL_JSON_FILE)} lists the weights file ${path}, which does not exist. ` +
              'The checkpoint is incomplete; save the model again.',
            { cause: error },
          );
        }
        throw error;
      }
    }
    const actual = groupBytes.reduce((sum, bytes) => sum + bytes.byteLength, 0);
    const expected = weightBytes(group.weights);
    if (actual !== expected) {
      throw new CheckpointError(
        `${group.paths.map((p) => join(dir, p)).join(', ')} holds ${actual} bytes but the manifest in ` +
          `${join(dir, MODEL_JSON_FILE)} describes ${expected}. The checkpoint is damaged or its files ` +
          'come from different saves; save the model again.',
      );
    }
    specs.push(...group.weights);
    for (const bytes of groupBytes) {
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
  }
  return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  float16: 2,
  uint16: 2,
  uint8: 1,
};

/** The byte size of a manifest group's weights, counting quantized dtypes as stored. */
function weightBytes(specs: readonly tf.io.WeightsManifestEntry[]): number {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytesPerElement = BYTES_PER_ELEMENT[dtype];
    if (bytesPerElement == null) {
      throw new CheckpointError(`Weight '${spec.name}' has dtype '${dtype}', which this loader cannot size.`);
    }
    total += spec.shape.reduce((product, dim) => product * dim, 1) * bytesPerElement;
  }
  return total;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
