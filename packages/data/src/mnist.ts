import { ChecksumMismatchError, MnistDataError } from './errors';
import { fetchBytes } from './fetch-bytes';
import { gunzipIfNeeded, type IdxImages, type IdxLabels, parseIdxImages, parseIdxLabels } from './idx';
import type { NetworkTimeouts } from './limits';

/** One half of MNIST: `count` 28x28 greyscale images (bytes, 0 = black) and their digit labels. */
export interface MnistSplit {
  count: number;
  /** count * 28 * 28 bytes, row-major, image after image. */
  images: Uint8Array;
  /** count bytes, each 0..9. */
  labels: Uint8Array;
}

/** The whole dataset: 60,000 training and 10,000 test images in the official files. */
export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

/** Which of the four MNIST files. */
export type MnistFileKey = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

/** An official MNIST file: its name and size uncompressed, and the facts of the official `.gz`. */
export interface MnistFile {
  /** The uncompressed file's name; the official compressed file is `<name>.gz`. */
  name: string;
  /** SHA-256 (hex) of the uncompressed bytes. */
  sha256: string;
  /** Size of the uncompressed file: the most bytes its .gz may inflate to. */
  bytes: number;
  /** SHA-256 (hex) of the official `<name>.gz`, checked before inflating it. */
  gzSha256: string;
  /** Size of the official `<name>.gz`. */
  gzBytes: number;
}

/**
 * The four official MNIST files. `sha256` is of the uncompressed bytes, so a mirror's re-compressed .gz
 * still verifies after decompression; `gzSha256` lets the official .gz be verified before it is inflated.
 */
export const MNIST_FILES: Readonly<Record<MnistFileKey, MnistFile>> = Object.freeze({
  trainImages: {
    name: 'train-images-idx3-ubyte',
    sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    bytes: 47_040_016,
    gzSha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    gzBytes: 9_912_422,
  },
  trainLabels: {
    name: 'train-labels-idx1-ubyte',
    sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    bytes: 60_008,
    gzSha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    gzBytes: 28_881,
  },
  testImages: {
    name: 't10k-images-idx3-ubyte',
    sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    bytes: 7_840_016,
    gzSha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    gzBytes: 1_648_877,
  },
  testLabels: {
    name: 't10k-labels-idx1-ubyte',
    sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    bytes: 10_008,
    gzSha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
    gzBytes: 4_542,
  },
});

/** The keys of {@link MNIST_FILES} in the order files are fetched. */
export const MNIST_FILE_KEYS: readonly MnistFileKey[] = [
  'trainImages',
  'trainLabels',
  'testImages',
  'testLabels',
];

/** The public mirror that serves the official files as `<name>.gz` (yann.lecun.com itself answers 403). */
export const MNIST_DEFAULT_BASE_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/';

/** Side of an MNIST image in pixels. */
export const MNIST_IMAGE_SIZE = 28;

/**
 * Checks that parsed images and labels form one MNIST split (at least one image, 28x28 images, as many
 * labels as images).
 * @param source names the split in error messages, e.g. "train split (./data/train-images-idx3-ubyte)".
 * @throws MnistDataError when the split is empty or the files do not fit together.
 */
export function checkMnistSplit(images: IdxImages, labels: IdxLabels, source: string): MnistSplit {
  // An empty training split would train on nothing (a NaN loss) and an empty test split would fail later,
  // far from the file, so both are refused here.
  if (images.count === 0) {
    throw new MnistDataError(
      `MNIST ${source}: the images file holds 0 images (its IDX header count is 0), so there is nothing to ` +
        'train or test on. Use the complete MNIST file, or another MNIST source.',
    );
  }
  if (images.rows !== MNIST_IMAGE_SIZE || images.cols !== MNIST_IMAGE_SIZE) {
    throw new MnistDataError(
      `MNIST ${source}: images are ${images.rows}x${images.cols}, but MNIST images are 28x28.`,
    );
  }
  if (images.count !== labels.count) {
    throw new MnistDataError(
      `MNIST ${source}: ${images.count} images but ${labels.count} labels; the two files must belong to ` +
        'the same split (train-* with train-*, t10k-* with t10k-*).',
    );
  }
  return { count: images.count, images: images.pixels, labels: labels.labels };
}

/** Lower-case hex SHA-256 of `bytes`, via Web Crypto (Node 20+ and browsers in secure contexts). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Checks uncompressed bytes against the official hash of MNIST file `key`.
 * @param source names the file in the error message.
 * @throws ChecksumMismatchError with the expected and actual hashes.
 */
export async function verifyMnistFile(key: MnistFileKey, bytes: Uint8Array, source: string): Promise<void> {
  const expected = MNIST_FILES[key].sha256;
  const actual = await sha256Hex(bytes);
  if (actual !== expected) throw new ChecksumMismatchError(source, expected, actual);
}

/** Options of {@link decodeMnistFile}. */
export interface DecodeMnistFileOptions {
  /** Check the bytes against the official file's SHA-256 (default true). */
  verify?: boolean;
}

/**
 * Turns the bytes of MNIST file `key` as fetched or read (plain or gzip) into the uncompressed file,
 * spending no more memory than the file may take.
 * - verify on: inflated if gzip, capped at the official `bytes`. The official .gz is recognised by its
 *   `gzSha256` before inflating; anything else (a mirror that re-compressed the file, a plain file) is
 *   checked against the official uncompressed `sha256` after.
 * - verify off: inflated if gzip, capped at the size the IDX header declares and at `MAX_IDX_FILE_BYTES`.
 * @param source names the file (path or URL) in error messages.
 * @throws IdxFormatError (corrupt gzip, more bytes than allowed) or ChecksumMismatchError, naming `source`.
 */
export async function decodeMnistFile(
  key: MnistFileKey,
  raw: Uint8Array,
  source: string,
  options: DecodeMnistFileOptions = {},
): Promise<Uint8Array> {
  if (options.verify === false) return gunzipIfNeeded(raw, source);
  const file = MNIST_FILES[key];
  const officialSize = {
    maxBytes: file.bytes,
    maxBytesMeaning: `the size of the official ${file.name}`,
  };
  const officialGz = raw.length === file.gzBytes && (await sha256Hex(raw)) === file.gzSha256;
  const bytes = await gunzipIfNeeded(raw, source, officialSize);
  // The official .gz, byte for byte, inflates to the official file, so its hash is enough.
  if (!officialGz) await verifyMnistFile(key, bytes, source);
  return bytes;
}

/**
 * Parses the four uncompressed files into both splits and checks that each pair fits together.
 * @param sources names for error messages (paths, URLs); defaults to the official file names.
 */
export function parseMnistFiles(
  files: Readonly<Record<MnistFileKey, Uint8Array>>,
  sources: Partial<Record<MnistFileKey, string>> = {},
): Mnist {
  const name = (key: MnistFileKey) => sources[key] ?? MNIST_FILES[key].name;
  const trainImages = parseIdxImages(files.trainImages, name('trainImages'));
  const trainLabels = parseIdxLabels(files.trainLabels, name('trainLabels'));
  const testImages = parseIdxImages(files.testImages, name('testImages'));
  const testLabels = parseIdxLabels(files.testLabels, name('testLabels'));
  return {
    train: checkMnistSplit(trainImages, trainLabels, `train split (${name('trainImages')})`),
    test: checkMnistSplit(testImages, testLabels, `test split (${name('testImages')})`),
  };
}

/**
 * Where a {@link loadMnistFromUrl} call stands, over all four files together.
 * - `'download'`: bytes of `file` arrived from the network.
 * - `'cached'`: a copy of `file` was found in the cache; it is verified next (and fetched again if it fails).
 * - `'verify'`: the body of `file` (downloaded or cached) is complete and is being decoded and checked.
 * - `'done'`: `file` is loaded (verified, and stored in the cache if it was downloaded); every file ends with
 *   exactly one `'done'`, and the last event of a successful load is a `'done'` with `receivedBytes === totalBytes`.
 */
export type MnistDownloadPhase = 'download' | 'cached' | 'verify' | 'done';

/** Progress of {@link loadMnistFromUrl}: bytes over the four files, and what just happened to which file. */
export interface MnistDownloadProgress {
  /**
   * Bytes of the four bodies received so far; never decreases. A cached body counts once it has verified
   * (at its `'done'`), a downloaded one as it arrives.
   */
  receivedBytes: number;
  /**
   * The four bodies' sizes added up: a complete body's length, else the download's Content-Length, else the
   * official size as an estimate (`MNIST_FILES[key].gzBytes` for a `.gz` name, `bytes` otherwise). A body sent
   * with a Content-Encoding arrives inflated by fetch, so it counts at the official uncompressed `bytes`. It
   * may change while estimates are replaced; at the last `'done'` it is exact and equals `receivedBytes`.
   */
  totalBytes: number;
  /** The file this event is about. */
  file: MnistFileKey;
  phase: MnistDownloadPhase;
}

/**
 * Keeps the bodies {@link loadMnistFromUrl} downloaded, keyed by their URL, e.g. `browserMnistCache()` of
 * `@lenet/web` (the Cache API) or a `Map` in tests. The loader only ever puts a body that verified against the
 * official SHA-256, and verifies a cached body exactly like a downloaded one before using it. The loaded
 * dataset may share memory with the bytes passed to `put` or returned by `get` (a plain, uncompressed file is
 * not copied), so a cache that keeps bodies in memory should store and hand out copies.
 */
export interface MnistByteCache {
  /** The stored body of `url`, or undefined when there is none. */
  get(url: string): Promise<Uint8Array | undefined>;
  /** Stores `bytes`, the verified body of `url`, replacing any earlier one. */
  put(url: string, bytes: Uint8Array): Promise<void>;
  /** Forgets `url` (nothing happens if it is not stored). */
  delete(url: string): Promise<void>;
}

/** Options of {@link loadMnistFromUrl}; the timeouts apply to each of the four downloads. */
export interface LoadMnistFromUrlOptions extends NetworkTimeouts {
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Check each file's SHA-256 against the official MNIST (default true). Turn off for look-alike datasets;
   * then `cache` is not used at all (neither read nor written), since there is nothing to check a body against.
   */
  verify?: boolean;
  /**
   * Fetch `<name>.gz` (true, the default, as the public mirrors serve it) or the plain `<name>` (false).
   * Either way, the bytes are decompressed only if they start with the gzip magic.
   */
  gzip?: boolean;
  /** File names relative to the base URL, replacing the official names (and the `gzip` suffix) per file. */
  files?: Partial<Record<MnistFileKey, string>>;
  /** Called as bytes arrive and as each file is verified; see {@link MnistDownloadProgress}. */
  onProgress?: (progress: MnistDownloadProgress) => void;
  /**
   * Where verified bodies are kept between calls, keyed by URL (only with `verify` on). A cached body that
   * fails verification is deleted and downloaded again; a downloaded body is put only after it verified, so
   * a corrupt or wrong download is never cached. The cache is best effort: a `get` that rejects counts as a
   * miss, and a `put` or `delete` that rejects (a full quota, storage that is switched off) is ignored, so
   * the cache never makes a load fail.
   */
  cache?: MnistByteCache;
}

/**
 * Loads MNIST into memory from a base URL that serves the four files (works in browsers and Node).
 * The four files load in parallel, each from `options.cache` when it holds a copy that verifies, else from
 * the network. In Node, `downloadMnist` from `@lenet/data/node` keeps a verified copy on disk instead. Each
 * body is capped at `MAX_IDX_FILE_BYTES` and inflated as {@link decodeMnistFile} says, so a hostile server
 * costs bounded memory; it also has to answer within `headersTimeoutMs` and keep sending within
 * `stallTimeoutMs`.
 * @param baseUrl e.g. {@link MNIST_DEFAULT_BASE_URL} or `/mnist/` on the page's own server.
 * @throws MnistDataError naming the URL (HTTP status, network error, timeout, interrupted or oversized
 *   body, empty split), ChecksumMismatchError, or IdxFormatError.
 */
export async function loadMnistFromUrl(
  baseUrl: string,
  options: LoadMnistFromUrlOptions = {},
): Promise<Mnist> {
  const { verify = true, gzip = true, onProgress } = options;
  // Without verification nothing tells a good body from a bad one, so nothing is trusted to the cache.
  const cache = verify ? options.cache : undefined;
  const urls = {} as Record<MnistFileKey, string>;
  // Per file: bytes counted as received, and its size (exact, announced, or estimated).
  const received = {} as Record<MnistFileKey, number>;
  const sizes = {} as Record<MnistFileKey, number>;
  const estimates = {} as Record<MnistFileKey, number>;
  for (const key of MNIST_FILE_KEYS) {
    const fileName = options.files?.[key] ?? MNIST_FILES[key].name + (gzip ? '.gz' : '');
    urls[key] = joinUrl(baseUrl, fileName);
    estimates[key] = fileName.endsWith('.gz') ? MNIST_FILES[key].gzBytes : MNIST_FILES[key].bytes;
    sizes[key] = estimates[key];
    received[key] = 0;
  }
  // The first failure abandons the other downloads, so no request or timer outlives the call.
  const siblings = new AbortController();
  const report = (file: MnistFileKey, phase: MnistDownloadPhase) => {
    // After a failure the call has rejected: the files still finishing report nothing more.
    if (!onProgress || siblings.signal.aborted) return;
    let receivedBytes = 0;
    let totalBytes = 0;
    for (const key of MNIST_FILE_KEYS) {
      receivedBytes += received[key];
      totalBytes += sizes[key];
    }
    onProgress({ receivedBytes, totalBytes, file, phase });
  };
  const complete = (key: MnistFileKey, length: number) => {
    received[key] = length;
    sizes[key] = length;
  };

  /** The decoded file from the cache, or undefined (a miss, or a copy that failed and was deleted). */
  const fromCache = async (key: MnistFileKey): Promise<Uint8Array | undefined> => {
    if (!cache) return undefined;
    const raw = await bestEffort(() => cache.get(urls[key]));
    if (!raw) return undefined;
    sizes[key] = raw.length;
    report(key, 'cached');
    report(key, 'verify');
    try {
      const bytes = await decodeMnistFile(key, raw, urls[key], { verify: true });
      complete(key, raw.length);
      return bytes;
    } catch {
      // Corrupt, truncated or stale: whatever it is, it is not the official file. Fetch it afresh.
      await bestEffort(() => cache.delete(urls[key]));
      sizes[key] = estimates[key];
      return undefined;
    }
  };

  const fromNetwork = async (key: MnistFileKey, signal: AbortSignal): Promise<Uint8Array> => {
    // With a Content-Encoding (Vite's dev server sends one for every .gz), fetch hands over the inflated
    // file while Content-Length counts the encoded bytes: the official uncompressed size is the better guess.
    let encoded = false;
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const observingFetch: typeof fetch = async (input, init) => {
      const response = await fetchImpl(input, init);
      encoded = Boolean(response.headers.get('content-encoding'));
      return response;
    };
    const raw = await fetchBytes(urls[key], {
      fetch: onProgress ? observingFetch : options.fetch,
      headersTimeoutMs: options.headersTimeoutMs,
      stallTimeoutMs: options.stallTimeoutMs,
      signal,
      onProgress: onProgress
        ? (progress) => {
            received[key] = progress.receivedBytes;
            const expected = encoded ? MNIST_FILES[key].bytes : (progress.totalBytes ?? estimates[key]);
            sizes[key] = Math.max(expected, progress.receivedBytes);
            report(key, 'download');
          }
        : undefined,
    });
    complete(key, raw.length);
    report(key, 'verify');
    const bytes = await decodeMnistFile(key, raw, urls[key], { verify });
    // Only now, verified, is the body worth keeping.
    if (cache) await bestEffort(() => cache.put(urls[key], raw));
    return bytes;
  };

  const entries = await Promise.all(
    MNIST_FILE_KEYS.map(async (key) => {
      try {
        const bytes = (await fromCache(key)) ?? (await fromNetwork(key, siblings.signal));
        report(key, 'done');
        return [key, bytes] as const;
      } catch (error) {
        siblings.abort();
        throw error;
      }
    }),
  );
  return parseMnistFiles(Object.fromEntries(entries) as Record<MnistFileKey, Uint8Array>, urls);
}

/** What `run()` resolves to, or undefined when it throws or rejects: the cache is best effort. */
async function bestEffort<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch {
    return undefined;
  }
}

/** Joins a base URL and a file name with exactly one slash between them. */
export function joinUrl(baseUrl: string, fileName: string): string {
  return baseUrl.endsWith('/') ? baseUrl + fileName : `${baseUrl}/${fileName}`;
}
