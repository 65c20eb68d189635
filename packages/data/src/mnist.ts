import { ChecksumMismatchError, MnistDataError } from './errors';
import { fetchBytes } from './fetch-bytes';
import { gunzipIfNeeded, type IdxImages, type IdxLabels, parseIdxImages, parseIdxLabels } from './idx';

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

/** An official MNIST file: its name (uncompressed) and the SHA-256 of its uncompressed bytes. */
export interface MnistFile {
  name: string;
  sha256: string;
}

/**
 * The four official MNIST files. The hashes are of the uncompressed bytes, so a re-compressed .gz still
 * verifies after decompression.
 */
export const MNIST_FILES: Readonly<Record<MnistFileKey, MnistFile>> = Object.freeze({
  trainImages: {
    name: 'train-images-idx3-ubyte',
    sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
  },
  trainLabels: {
    name: 'train-labels-idx1-ubyte',
    sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
  },
  testImages: {
    name: 't10k-images-idx3-ubyte',
    sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  },
  testLabels: {
    name: 't10k-labels-idx1-ubyte',
    sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
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
 * Checks that parsed images and labels form one MNIST split (28x28 images, as many labels as images).
 * @param source names the split in error messages, e.g. "train (./data)".
 * @throws MnistDataError when they do not fit together.
 */
export function checkMnistSplit(images: IdxImages, labels: IdxLabels, source: string): MnistSplit {
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

/** Options of {@link loadMnistFromUrl}. */
export interface LoadMnistFromUrlOptions {
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Check each file's SHA-256 against the official MNIST (default true). Turn off for look-alike datasets. */
  verify?: boolean;
  /**
   * Fetch `<name>.gz` (true, the default, as the public mirrors serve it) or the plain `<name>` (false).
   * Either way, the bytes are decompressed only if they start with the gzip magic.
   */
  gzip?: boolean;
  /** File names relative to the base URL, replacing the official names (and the `gzip` suffix) per file. */
  files?: Partial<Record<MnistFileKey, string>>;
}

/**
 * Loads MNIST into memory from a base URL that serves the four files (works in browsers and Node).
 * The four requests run in parallel. Nothing is cached; in Node, `downloadMnist` from `@lenet/data/node`
 * keeps a verified copy on disk.
 * @param baseUrl e.g. {@link MNIST_DEFAULT_BASE_URL} or `/mnist/` on the page's own server.
 * @throws MnistDataError naming the URL (HTTP status, network error, interrupted body),
 *   ChecksumMismatchError, or IdxFormatError.
 */
export async function loadMnistFromUrl(
  baseUrl: string,
  options: LoadMnistFromUrlOptions = {},
): Promise<Mnist> {
  const { verify = true, gzip = true } = options;
  const urls = {} as Record<MnistFileKey, string>;
  for (const key of MNIST_FILE_KEYS) {
    const fileName = options.files?.[key] ?? MNIST_FILES[key].name + (gzip ? '.gz' : '');
    urls[key] = joinUrl(baseUrl, fileName);
  }
  const entries = await Promise.all(
    MNIST_FILE_KEYS.map(async (key) => {
      const raw = await fetchBytes(urls[key], options.fetch);
      const bytes = await gunzipIfNeeded(raw, urls[key]);
      if (verify) await verifyMnistFile(key, bytes, urls[key]);
      return [key, bytes] as const;
    }),
  );
  return parseMnistFiles(Object.fromEntries(entries) as Record<MnistFileKey, Uint8Array>, urls);
}

/** Joins a base URL and a file name with exactly one slash between them. */
export function joinUrl(baseUrl: string, fileName: string): string {
  return baseUrl.endsWith('/') ? baseUrl + fileName : `${baseUrl}/${fileName}`;
}
