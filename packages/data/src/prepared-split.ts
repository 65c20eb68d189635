import type { MnistSplit } from './mnist';
import { type Preprocessing, preprocessImages } from './transforms';

/** A split ready for training: network inputs computed once (see preprocessImages) and labels. */
export interface PreparedSplit {
  count: number;
  /** count * 32 * 32 floats. */
  inputs: Float32Array;
  /** count labels 0..9. */
  labels: Uint8Array;
}

/** The first `limit` images of `split` (all when omitted), preprocessed once into model inputs. */
export function prepareSplit(split: MnistSplit, preprocessing: Preprocessing, limit?: number): PreparedSplit {
  const count = Math.min(split.count, limit ?? split.count);
  return {
    count,
    inputs: preprocessImages(split.images.subarray(0, count * 28 * 28), count, preprocessing),
    labels: split.labels.subarray(0, count),
  };
}

/** Throws a RangeError unless `split`'s arrays hold what its count says. */
export function checkPreparedSplit(split: PreparedSplit, pixels: number): void {
  if (split.inputs.length !== split.count * pixels || split.labels.length !== split.count) {
    throw new RangeError(
      `PreparedSplit of ${split.count} examples needs ${split.count * pixels} inputs and ${split.count} labels, ` +
        `got ${split.inputs.length} and ${split.labels.length}.`,
    );
  }
}
