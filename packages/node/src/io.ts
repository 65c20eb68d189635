import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import {
  type CheckedWeightsManifest,
  checkWeightsManifest,
  MAX_MODEL_JSON_BYTES,
  WeightsManifestError,
} from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import { errnoMeaning } from './errno';
import { type OpenFile, openRegularFile, readAtMost } from './regular-file';

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
 *
 * `load` treats the folder as untrusted (it may come from a stranger). The manifest must pass
 * `checkWeightsManifest` of `@lenet/ops` (plain file names inside the folder, sane specs, at most
 * `MAX_WEIGHTS_BYTES`). Every file it reads, `model.json` included, must be a regular file whose real path
 * (after symbolic links) lies inside the folder's real path; `model.json` may have at most
 * `MAX_MODEL_JSON_BYTES`, and the weights files must have exactly the size the manifest describes, checked
 * before reading and never read past. Every refusal is a {@link CheckpointError} of one line naming the file.
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
      const folder = await openModelFolder(dir);
      const modelJson = await readModelJson(folder);
      const manifest = checkManifest(modelJson, folder.modelJsonPath);
      const [weightSpecs, weightData] = await readWeights(folder, manifest);
      return tf.io.getModelArtifactsForJSONSync(modelJson, weightSpecs, weightData);
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

/** A model folder as `load` reads it: the path the caller gave and where it really is. */
interface ModelFolder {
  dir: string;
  /** The folder's path with every symbolic link resolved: what each file's real path must lie inside. */
  realDir: string;
  modelJsonPath: string;
}

async function openModelFolder(dir: string): Promise<ModelFolder> {
  const modelJsonPath = join(dir, MODEL_JSON_FILE);
  try {
    return { dir, realDir: await realpath(dir), modelJsonPath };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new CheckpointError(
        `No saved model in ${dir}: the directory ${dir} does not exist. Check the path, or train a model first ` +
          'to create it.',
        { cause: error },
      );
    }
    throw fileError(dir, error, 'Check the path and its permissions.');
  }
}

async function readModelJson(folder: ModelFolder): Promise<tf.io.ModelJSON> {
  const { dir, modelJsonPath } = folder;
  const file = await openInsideFolder(
    folder,
    modelJsonPath,
    () =>
      new CheckpointError(
        `No saved model in ${dir}: ${modelJsonPath} does not exist. Check the path, or train a model first to ` +
          'create it.',
      ),
  );
  let bytes: Uint8Array;
  try {
    if (file.size > MAX_MODEL_JSON_BYTES) {
      throw new CheckpointError(
        `${modelJsonPath} has ${file.size} bytes, more than the ${MAX_MODEL_JSON_BYTES} a model.json may have; ` +
          'it is not a model.json that saveWeights wrote.',
      );
    }
    bytes = await readExactly(file, file.size, modelJsonPath);
  } finally {
    await file.handle.close();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new CheckpointError(
      `${modelJsonPath} is not valid JSON (${oneLine((error as Error).message)}). The file is damaged; ` +
        'restore it or save the model again.',
      { cause: error },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || !('weightsManifest' in parsed)) {
    throw new CheckpointError(
      `${modelJsonPath} is not a TF.js model.json: it has no "weightsManifest" array. ` +
        'Point to a directory written by fileSystemHandler or tf.io.',
    );
  }
  return parsed as tf.io.ModelJSON;
}

function checkManifest(modelJson: tf.io.ModelJSON, modelJsonPath: string): CheckedWeightsManifest {
  try {
    return checkWeightsManifest(modelJson.weightsManifest);
  } catch (error) {
    if (error instanceof WeightsManifestError) {
      throw new CheckpointError(`${modelJsonPath}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

async function readWeights(
  folder: ModelFolder,
  manifest: CheckedWeightsManifest,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest.groups) {
    const paths = group.paths.map((relativePath) => join(folder.dir, relativePath));
    const files: OpenFile[] = [];
    try {
      for (const path of paths) {
        files.push(
          await openInsideFolder(
            folder,
            path,
            () =>
              new CheckpointError(
                `${folder.modelJsonPath} lists the weights file ${path}, which does not exist. ` +
                  'The checkpoint is incomplete; save the model again.',
              ),
          ),
        );
      }
      // Sized before reading, so a wrong file (a huge one, or one from another save) is never read at all.
      const actual = files.reduce((sum, file) => sum + file.size, 0);
      if (actual !== group.byteLength) {
        throw new CheckpointError(
          `${paths.join(', ')} holds ${actual} bytes but the manifest in ${folder.modelJsonPath} describes ` +
            `${group.byteLength}. The checkpoint is damaged or its files come from different saves; save the ` +
            'model again.',
        );
      }
      for (const [i, file] of files.entries()) {
        const bytes = await readExactly(file, file.size, paths[i]!);
        buffers.push(bytes.buffer as ArrayBuffer);
      }
    } finally {
      await Promise.all(files.map((file) => file.handle.close()));
    }
    specs.push(...group.weights);
  }
  return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
}

// O_NOFOLLOW: the path is already free of links (realpath), so a link found now was swapped in since.
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Opens `path` if its real path lies inside the folder's and it is a regular file; `missing` makes the
 * error for a path that does not exist. Never blocks: devices, FIFOs and directories are refused by `fstat`
 * of the open handle, not read.
 */
async function openInsideFolder(
  folder: ModelFolder,
  path: string,
  missing: () => CheckpointError,
): Promise<OpenFile> {
  let realPath: string;
  try {
    realPath = await realpath(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw missing();
    throw fileError(path, error, 'Check the file and its permissions.');
  }
  const fromFolder = relative(folder.realDir, realPath);
  if (fromFolder === '..' || fromFolder.startsWith(`..${sep}`) || isAbsolute(fromFolder)) {
    throw new CheckpointError(
      `${path} leads to ${realPath}, outside the model folder ${folder.realDir}; a model may only read its ` +
        'own files. Copy the file into the folder instead of linking to it.',
    );
  }
  let opened: Awaited<ReturnType<typeof openRegularFile>>;
  try {
    opened = await openRegularFile(realPath, NO_FOLLOW);
  } catch (error) {
    throw fileError(path, error, 'Check the file and its permissions.');
  }
  if ('kind' in opened) {
    throw new CheckpointError(
      `${path} is ${opened.kind}, not a regular file; a model folder holds only regular files. ` +
        'Replace it with the file saveWeights wrote.',
    );
  }
  return opened;
}

/** Reads the first `length` bytes of `file`, and never more, even if the file grows meanwhile. */
async function readExactly(file: OpenFile, length: number, path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readAtMost(file, length);
  } catch (error) {
    throw fileError(path, error, 'Check the file and the disk.');
  }
  if (bytes.length < length) {
    throw new CheckpointError(
      `${path} shrank from ${length} to ${bytes.length} bytes while being read; something else is writing it. ` +
        'Load again when it is finished.',
    );
  }
  return bytes;
}

/** A system error reading `path` as one line that names the path and says what to do. */
function fileError(path: string, error: unknown, advice: string): CheckpointError {
  const code = errorCode(error);
  const reason = errnoMeaning(error) ?? oneLine((error as Error).message);
  return new CheckpointError(`Cannot read ${path}: ${reason}${code ? ` (${code})` : ''}. ${advice}`, {
    cause: error,
  });
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

// System and JSON messages may span lines or quote a whole file; the CLI's errors are one short line.
function oneLine(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
