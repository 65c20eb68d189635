import { MNIST_MEAN, MNIST_STD, type Preprocessing } from '@lenet/data';
import { type LeNet5, loadWeights } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';

/** The inputs the trainer's default recipe uses, assumed for weights that do not record theirs. */
export const DEFAULT_PREPROCESSING: Preprocessing = {
  resize: 'pad',
  normalize: { mean: MNIST_MEAN, std: MNIST_STD },
};

/** Thrown by {@link loadWeightsFromUrl} when the files cannot be fetched or are not a TF.js weights manifest. */
export class WeightsLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsLoadError';
  }
}

/** Trained weights loaded from a URL, and how their inputs must be prepared. */
export interface LoadedWeights {
  model: LeNet5;
  /** The manifest's `userDefinedMetadata` (what the trainer recorded). */
  metadata: Record<string, unknown>;
  /** How 28x28 digits become the model's 32x32 inputs, as recorded by `lenet train`. */
  preprocessing: Preprocessing;
  /** False when the weights did not record their preprocessing and {@link DEFAULT_PREPROCESSING} is assumed. */
  preprocessingRecorded: boolean;
}

/** Options of {@link loadWeightsFromUrl}. */
export interface LoadWeightsOptions {
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * Loads the `model.json` + `weights.bin` that `lenet train` writes (TF.js format) from `url`, the address of
 * `model.json`; the weight files are fetched relative to it. The caller owns the model (dispose it).
 * @throws {@link WeightsLoadError} for an HTTP error or a file that is not a TF.js weights manifest;
 *   `WeightsFormatError` of `@lenet/ops` for weights of the wrong names or shapes.
 */
export async function loadWeightsFromUrl(
  url: string,
  options: LoadWeightsOptions = {},
): Promise<LoadedWeights> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const manifestUrl = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  const manifest = parseManifest(await fetchBytes(fetchFn, manifestUrl, 'the weights manifest'), manifestUrl);

  const weightSpecs = manifest.weightsManifest.flatMap((group) => group.weights);
  const parts = await Promise.all(
    manifest.weightsManifest.flatMap((group) =>
      group.paths.map((path) => fetchBytes(fetchFn, new URL(path, manifestUrl), 'a weights file')),
    ),
  );
  const weightData = concatenate(parts);
  const expected = weightSpecs.reduce((sum, spec) => sum + 4 * spec.shape.reduce((a, b) => a * b, 1), 0);
  if (weightData.byteLength !== expected) {
    throw new WeightsLoadError(
      `The weights files of ${manifestUrl} hold ${weightData.byteLength} bytes, but its manifest describes ` +
        `${expected} bytes of float32 weights. Copy model.json and its .bin files from the same training run.`,
    );
  }

  const { model, metadata } = await loadWeights(
    tf.io.fromMemory({
      modelTopology: manifest.modelTopology,
      weightSpecs,
      weightData: weightData.buffer as ArrayBuffer,
      userDefinedMetadata: manifest.userDefinedMetadata,
    }),
  );
  try {
    const recorded = metadata['preprocessing'];
    const preprocessing =
      recorded === undefined ? DEFAULT_PREPROCESSING : checkPreprocessing(recorded, manifestUrl);
    return { model, metadata, preprocessing, preprocessingRecorded: recorded !== undefined };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

interface Manifest {
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata'];
}

async function fetchBytes(fetchFn: typeof fetch, url: URL, what: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchFn(url.href);
  } catch (error) {
    throw new WeightsLoadError(
      `Could not fetch ${what} ${url.href}: ${(error as Error).message}. Check the URL and the network.`,
    );
  }
  if (!response.ok) {
    throw new WeightsLoadError(
      `Fetching ${what} ${url.href} failed with HTTP ${response.status} ${response.statusText}. ` +
        'Check that the file is deployed at that address.',
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}

function parseManifest(bytes: Uint8Array, url: URL): Manifest {
  const bad = (why: string) =>
    new WeightsLoadError(
      `${url.href} is not a TF.js weights manifest: ${why}. Point at the model.json that 'lenet train' writes.`,
    );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw bad('it is not JSON');
  }
  const manifest = json as Partial<Manifest> | null;
  if (manifest == null || typeof manifest !== 'object') throw bad('it is not a JSON object');
  const groups = manifest.weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) throw bad('it has no weightsManifest');
  for (const group of groups) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights)) {
      throw bad('a weightsManifest entry lacks paths or weights');
    }
    for (const spec of group.weights) {
      if (typeof spec?.name !== 'string' || !Array.isArray(spec.shape) || spec.dtype !== 'float32') {
        throw bad(`weight entry ${JSON.stringify(spec)} is not a float32 weight with a name and a shape`);
      }
    }
  }
  return manifest as Manifest;
}

function concatenate(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function checkPreprocessing(value: unknown, url: URL): Preprocessing {
  const p = value as Partial<Preprocessing> | null;
  const normalize = p?.normalize;
  const resizeOk = p?.resize === 'pad' || p?.resize === 'bilinear';
  const normalizeOk =
    normalize === null ||
    (typeof normalize?.mean === 'number' && typeof normalize.std === 'number' && normalize.std > 0);
  if (!resizeOk || !normalizeOk) {
    throw new WeightsLoadError(
      `${url.href} records a preprocessing this package does not know: ${JSON.stringify(value)}. ` +
        "Expected { resize: 'pad' | 'bilinear', normalize: null | { mean, std > 0 } }, as 'lenet train' writes.",
    );
  }
  return { resize: p!.resize!, normalize: normalize ?? null };
}
