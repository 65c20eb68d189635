/**
 * The campaigns of packages/data/src/fuzz.test.ts (same seeds and counts), in Chromium: IDX headers and gzip
 * streams through the real parsers, with Chromium's DecompressionStream doing the inflating.
 */
import {
  gunzipIfNeeded,
  IdxFormatError,
  MNIST_FILE_KEYS,
  MnistDataError,
  type MnistFileKey,
  parseIdxImages,
  parseIdxLabels,
  parseMnistFiles,
} from '@lenet/data';
import { mutants } from '../../../../test-utils/fuzz';
import {
  type Campaign,
  casesOf,
  type FuzzCase,
  invalidResult,
  messageProblem,
  mutantsAfter,
  typed,
  untyped,
  type Verdict,
} from './campaign';
import type { FuzzInputs } from './protocol';

/** The cap every gunzip here runs under; far above the small inputs, far below the hard limit. */
const CAP = 1024 * 1024;
const SOURCE = 'fuzzed-file';
const IMAGES_HEADER = 16;
const LABELS_HEADER = 8;

/** A gunzip whose output went past {@link CAP}: the allocation the cap exists to prevent. */
class CapExceeded extends Error {
  override name = 'CapExceeded';
}

/** Runs `parse`, then `check` on its result; an error must be ours, one line, and name the source. */
async function judgeIdx<T>(
  parse: () => Promise<T>,
  check: (result: T) => string | undefined,
): Promise<Verdict> {
  let result: T;
  try {
    result = await parse();
  } catch (error) {
    if (error instanceof CapExceeded)
      return { name: error.name, message: error.message, problem: 'past the cap' };
    if (!(error instanceof IdxFormatError || error instanceof MnistDataError)) return untyped(error);
    const problem =
      messageProblem(error.message) ??
      (error.message.includes(SOURCE) ? undefined : 'message does not name the source');
    return typed(error, problem);
  }
  const broken = check(result);
  return broken === undefined ? 'valid' : invalidResult(broken);
}

/** Gunzips (if it is gzip) under the cap, checking the cap held, then parses. */
async function gunzipThen<T>(bytes: Uint8Array, parse: (bytes: Uint8Array, source: string) => T): Promise<T> {
  const inflated = await gunzipIfNeeded(bytes, SOURCE, { maxBytes: CAP });
  // A gzip's output must respect the cap; bytes passed through unchanged are the mutant's own size.
  if (inflated !== bytes && inflated.length > CAP) {
    throw new CapExceeded(`inflated ${inflated.length} bytes under a cap of ${CAP}`);
  }
  return parse(inflated, SOURCE);
}

function checkImages({ count, rows, cols, pixels }: ReturnType<typeof parseIdxImages>): string | undefined {
  if (pixels.length !== count * rows * cols) return `${pixels.length} pixels for ${count} of ${rows}x${cols}`;
  if (pixels.length > CAP) return `${pixels.length} pixels, past the cap`;
  return undefined;
}

function checkLabels({ count, labels }: ReturnType<typeof parseIdxLabels>): string | undefined {
  if (labels.length !== count) return `${labels.length} labels for a count of ${count}`;
  if (labels.some((label) => label > 9)) return 'a label above 9';
  return undefined;
}

/** Gzip in Chromium itself (Node's suite uses zlib), so the inflater reads what Chromium's deflater wrote. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const parseImages = (bytes: Uint8Array) => judgeIdx(async () => parseIdxImages(bytes, SOURCE), checkImages);
const parseLabels = (bytes: Uint8Array) => judgeIdx(async () => parseIdxLabels(bytes, SOURCE), checkLabels);
const gunzipImages = (bytes: Uint8Array) => judgeIdx(() => gunzipThen(bytes, parseIdxImages), checkImages);
const gunzipLabels = (bytes: Uint8Array) => judgeIdx(() => gunzipThen(bytes, parseIdxLabels), checkLabels);

/** Cases that gzip each mutant first, so the edits sit inside a well-formed gzip stream. */
async function gzippedCases(
  all: Iterable<{ seed: number; how: string; bytes: Uint8Array }>,
  judge: (bytes: Uint8Array) => Promise<Verdict>,
): Promise<FuzzCase[]> {
  const cases: FuzzCase[] = [];
  for (const { seed, how, bytes } of all) {
    const compressed = await gzip(bytes);
    cases.push({ seed, how, run: () => judge(compressed) });
  }
  return cases;
}

/** Three of the four files stay real; one is mutated behind its magic, and gzipped when its seed is even. */
async function mnistFilesCases(images: Uint8Array, labels: Uint8Array): Promise<FuzzCase[]> {
  const files: Record<MnistFileKey, Uint8Array> = {
    trainImages: images,
    trainLabels: labels,
    testImages: images,
    testLabels: labels,
  };
  const sources = Object.fromEntries(MNIST_FILE_KEYS.map((key) => [key, `${SOURCE}/${key}`]));
  const cases: FuzzCase[] = [];
  let n = 0;
  for (const key of MNIST_FILE_KEYS) {
    const header = key.endsWith('Images') ? IMAGES_HEADER : LABELS_HEADER;
    for (const mutant of mutantsAfter(files[key], 4, 15, 7 + n++, header - 4)) {
      const gzipped = mutant.seed % 2 === 0;
      const bytes = gzipped ? await gzip(mutant.bytes) : mutant.bytes;
      const parse = async () =>
        parseMnistFiles(
          { ...files, [key]: await gunzipIfNeeded(bytes, sources[key], { maxBytes: CAP }) },
          sources,
        );
      cases.push({
        seed: mutant.seed,
        how: `${key}${gzipped ? ' (gzipped)' : ''}: ${mutant.how}`,
        run: () =>
          judgeIdx(parse, ({ train, test }) =>
            [train, test].some(
              (split) =>
                split.count === 0 ||
                split.images.length !== split.count * 28 * 28 ||
                split.labels.length !== split.count,
            )
              ? `a split of ${train.count} / ${test.count} items whose lengths do not match`
              : undefined,
          ),
      });
    }
  }
  return cases;
}

export function idxCampaigns(inputs: FuzzInputs): Campaign[] {
  const images = inputs['images.idx'];
  const labels = inputs['labels.idx'];
  return [
    {
      name: 'IDX image headers',
      expectsValid: false,
      cases: () =>
        casesOf(
          [...mutants(images, 40, 1, IMAGES_HEADER), ...mutantsAfter(images, 4, 40, 11, IMAGES_HEADER - 4)],
          parseImages,
        ),
    },
    {
      name: 'IDX label headers',
      expectsValid: false,
      cases: () =>
        casesOf(
          [...mutants(labels, 30, 2, LABELS_HEADER), ...mutantsAfter(labels, 4, 30, 12, LABELS_HEADER - 4)],
          parseLabels,
        ),
    },
    {
      name: 'IDX image files, edited anywhere (pixel edits keep them valid)',
      expectsValid: true,
      cases: () => casesOf(mutants(images, 30, 15), parseImages),
    },
    {
      name: 'gzipped IDX image headers (gzipped by Chromium)',
      expectsValid: false,
      cases: () =>
        gzippedCases(
          [...mutants(images, 25, 3, IMAGES_HEADER), ...mutantsAfter(images, 4, 25, 13, IMAGES_HEADER - 4)],
          gunzipImages,
        ),
    },
    {
      name: 'gzipped IDX label headers (gzipped by Chromium)',
      expectsValid: false,
      cases: () =>
        gzippedCases(
          [...mutants(labels, 25, 4, LABELS_HEADER), ...mutantsAfter(labels, 4, 25, 14, LABELS_HEADER - 4)],
          gunzipLabels,
        ),
    },
    {
      name: 'gzip streams of images (gzipped by Node)',
      expectsValid: false,
      cases: () => casesOf(mutants(inputs['images.idx.gz'], 80, 5), gunzipImages),
    },
    {
      name: 'gzip streams of labels, in the gzip header and first deflate block (gzipped by Node)',
      expectsValid: false,
      cases: () => casesOf(mutants(inputs['labels.idx.gz'], 60, 6, 32), gunzipLabels),
    },
    {
      // Not in the Node suite: where Chromium's inflater and Node's zlib part ways (bytes after the last
      // member, a second member, zero padding), every mutant must still be typed or valid in each.
      name: 'gzip trailer of labels (CRC, size) and bytes after it (gzipped by Node)',
      expectsValid: false,
      cases: () => {
        const gz = inputs['labels.idx.gz'];
        return casesOf(mutantsAfter(gz, gz.length - 8, 60, 8), gunzipLabels);
      },
    },
    {
      name: 'parseMnistFiles, one of the four files mutated, plain or gzipped',
      expectsValid: false,
      cases: () => mnistFilesCases(images, labels),
    },
  ];
}
