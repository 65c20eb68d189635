import { DEFAULT_PREPROCESSING, type Preprocessing } from '@lenet/data';
import {
  type CheckedWeightsManifest,
  checkWeightsManifest,
  type LeNet5,
  loadWeights,
  MAX_MODEL_JSON_BYTES,
  type NonFiniteWeight,
  type LoadWeightsOptions as OpsLoadWeightsOptions,
  WeightsManifestError,
} from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';

// @lenet/data's preset, assumed for weights that do not record their preprocessing; exported here too so that
// a page needs no import from @lenet/data to preprocess as the weights expect.
export { DEFAULT_PREPROCESSING };

/** Thrown by {@link loadWeightsFromUrl} when the files cannot be fetched or are not a TF.js weights manifest. */
export class WeightsLoadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
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
  /** The weights that hold NaN or ±Infinity: empty unless `allowNonFinite` let them through (then warn). */
  nonFinite: NonFiniteWeight[];
}

/** Options of {@link loadWeightsFromUrl}: those of `loadWeights` of `@lenet/ops`, and the fetch to use. */
export interface LoadWeightsOptions extends OpsLoadWeightsOptions {
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * Loads the `model.json` + `weights.bin` that `lenet train` writes (TF.js format) from `url`, the address of
 * `model.json`; the weight files are fetched relative to it. The files may come from a stranger: the manifest
 * must pass `checkWeightsManifest` of `@lenet/ops` (plain file names, sane specs, a capped size), every
 * weights URL must have the manifest's origin and lie in its folder (checked before anything is fetched),
 * and no response is read past the size it should have. The caller owns the model (dispose it).
 * @throws {@link WeightsLoadError} for an HTTP error, a file that is not a safe TF.js weights manifest, or
 *   weights files of the wrong size; `WeightsFormatError` of `@lenet/ops` for weights of the wrong names or
 *   shapes; `NonFiniteWeightsError` of `@lenet/ops` for weights that hold NaN or ±Infinity, unless
 *   `allowNonFinite` is set.
 */
export async function loadWeightsFromUrl(
  url: string,
  options: LoadWeightsOptions = {},
): Promise<LoadedWeights> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const manifestUrl = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  const manifestBytes = await fetchBytes(fetchFn, manifestUrl, 'the weights manifest', {
    limit: MAX_MODEL_JSON_BYTES,
    reason: 'the most a model.json may have',
  });
  const manifest = parseManifest(manifestBytes, manifestUrl);
  const checked = checkManifest(manifest.weightsManifest, manifestUrl);
  // Every URL is checked before the first one is fetched, so a hostile manifest causes no request at all.
  const fileUrls = checked.groups.map((group) =>
    group.paths.map((path) => weightsFileUrl(path, manifestUrl)),
  );

  const parts: Uint8Array[] = [];
  for (const [g, group] of checked.groups.entries()) {
    let groupBytes = 0;
    for (const fileUrl of fileUrls[g]!) {
      const bytes = await fetchBytes(fetchFn, fileUrl, 'the weights file', {
        limit: group.byteLength - groupBytes,
        reason: `what the manifest ${manifestUrl.href} describes`,
      });
      groupBytes += bytes.byteLength;
      parts.push(bytes);
    }
    if (groupBytes !== group.byteLength) {
      throw new WeightsLoadError(
        `The weights files of ${manifestUrl.href} hold ${groupBytes} bytes, but its manifest describes ` +
          `${group.byteLength} bytes. Copy model.json and its .bin files from the same training run.`,
      );
    }
  }

  const { model, metadata, nonFinite } = await loadManifestWeights(manifest, checked, parts, options);
  try {
    const recorded = metadata['preprocessing'];
    const preprocessing =
      recorded === undefined ? DEFAULT_PREPROCESSING : checkPreprocessing(recorded, manifestUrl.href);
    return { model, metadata, preprocessing, preprocessingRecorded: recorded !== undefined, nonFinite };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * The model from a checked TF.js manifest (its topology and metadata, its checked weight specs) and the bytes of
 * its weights files, in the manifest's order: the last step of loading from a URL and from picked files.
 */
export function loadManifestWeights(
  manifest: Partial<Pick<Manifest, 'modelTopology' | 'userDefinedMetadata'>>,
  checked: CheckedWeightsManifest,
  parts: Uint8Array[],
  options: { allowNonFinite?: boolean },
): ReturnType<typeof loadWeights> {
  return loadWeights(
    tf.io.fromMemory({
      modelTopology: manifest.modelTopology,
      weightSpecs: checked.groups.flatMap((group) => group.weights),
      weightData: concatenate(parts).buffer as ArrayBuffer,
      userDefinedMetadata: manifest.userDefinedMetadata,
    }),
    { allowNonFinite: options.allowNonFinite },
  );
}

interface Manifest {
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  weightsManifest: unknown;
  userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata'];
}

/** The most bytes a response may have, and why, for the message when it has more. */
interface ResponseLimit {
  limit: number;
  reason: string;
}

async function fetchBytes(
  fetchFn: typeof fetch,
  url: URL,
  what: string,
  { limit, reason }: ResponseLimit,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchFn(url.href);
  } catch (error) {
    throw new WeightsLoadError(
      `Could not fetch ${what} ${url.href}: ${(error as Error).message}. Check the URL and the network.`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new WeightsLoadError(
      `Fetching ${what} ${url.href} failed with HTTP ${response.status} ${response.statusText}. ` +
        'Check that the file is deployed at that address.',
    );
  }
  const tooLarge = () =>
    new WeightsLoadError(
      `Fetching ${what} ${url.href} stopped: it has more than ${limit} bytes, ${reason}. ` +
        'Copy model.json and its .bin files from the same training run.',
    );
  return readAtMost(response, limit, tooLarge);
}

/**
 * The body of `response` if it has at most `limit` bytes; otherwise `tooLarge()` is thrown, having read at
 * most one chunk past the limit, so a hostile server cannot make the page hold gigabytes.
 */
async function readAtMost(response: Response, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  // Content-Length counts the encoded bytes; only for an unencoded body is it the size read.
  const declared = response.headers.get('content-length');
  const encoding = response.headers.get('content-encoding');
  if (declared !== null && (encoding === null || encoding === 'identity') && Number(declared) > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (response.body == null) {
    // A fetch without streams (a test double, an old polyfill) gives the body only whole.
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge();
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return concatenate(chunks);
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
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('it is not a JSON object');
  if (!('weightsManifest' in json)) throw bad('it has no weightsManifest');
  return json as Manifest;
}

function checkManifest(weightsManifest: unknown, url: URL): CheckedWeightsManifest {
  try {
    return checkWeightsManifest(weightsManifest);
  } catch (error) {
    if (error instanceof WeightsManifestError) {
      throw new WeightsLoadError(`${url.href}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Where the browser fetches a weights path from. The manifest rule already allows only plain names; this checks
 * what the URL parser made of one, so no quirk of a base URL can send a request to another origin or folder.
 */
function weightsFileUrl(path: string, manifestUrl: URL): URL {
  const folder = manifestUrl.pathname.slice(0, manifestUrl.pathname.lastIndexOf('/') + 1);
  let url: URL | undefined;
  try {
    url = new URL(path, manifestUrl);
  } catch {
    // A base that is not hierarchical (data:, blob:) resolves no relative path.
  }
  if (
    url === undefined ||
    url.origin !== manifestUrl.origin ||
    !url.pathname.startsWith(folder) ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new WeightsLoadError(
      `${manifestUrl.href} lists the weights file '${path}', which does not resolve to a file in its folder ` +
        `${manifestUrl.origin}${folder}; serve model.json from an http(s) folder next to its .bin files.`,
    );
  }
  return url;
}

/** The bytes of `parts` one after the other, in one new array. */
function concatenate(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * The preprocessing a `model.json` records in `userDefinedMetadata.preprocessing`, checked.
 * @param where The file, named in the message (a URL or a file name).
 * @throws {@link WeightsLoadError} for one this package does not know.
 */
export function checkPreprocessing(value: unknown, where: string): Preprocessing {
  const p = value as Partial<Preprocessing> | null;
  const normalize = p?.normalize;
  const resizeOk = p?.resize === 'pad' || p?.resize === 'bilinear';
  const normalizeOk =
    normalize === null ||
    (typeof normalize?.mean === 'number' && typeof normalize.std === 'number' && normalize.std > 0);
  if (!resizeOk || !normalizeOk) {
    throw new WeightsLoadError(
      `${where} records a preprocessing this package does not know: ${JSON.stringify(value)}. ` +
        "Expected { resize: 'pad' | 'bilinear', normalize: null | { mean, std > 0 } }, as 'lenet train' writes.",
    );
  }
  return { resize: p!.resize!, normalize: normalize ?? null };
}
