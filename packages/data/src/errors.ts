/** A problem with an MNIST source: a missing file, a failed download, splits that do not fit together. */
export class MnistDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MnistDataError';
  }
}

/** A file's SHA-256 differs from the official MNIST file's: it is corrupt, truncated or another dataset. */
export class ChecksumMismatchError extends MnistDataError {
  constructor(
    /** The file (name, path or URL) whose bytes were checked. */
    readonly file: string,
    /** The official SHA-256 (hex). */
    readonly expected: string,
    /** The SHA-256 (hex) of the bytes received, after decompression. */
    readonly actual: string,
  ) {
    super(
      `${file}: SHA-256 mismatch: expected ${expected}, got ${actual}. The file is corrupt or is not the ` +
        'official MNIST file; fetch it again, or turn verification off if you use another dataset on purpose.',
    );
    this.name = 'ChecksumMismatchError';
  }
}
