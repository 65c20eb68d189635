/**
 * Caps and timeouts for untrusted input. MNIST files, gzip streams and download servers may come from
 * strangers, so every size is capped before memory is spent on it and every network wait has a deadline.
 */

/**
 * The most bytes one IDX file (or one download, or one gzip's output) may take: 64 MiB, room for MNIST's
 * largest file (train-images-idx3-ubyte, 47,040,016 bytes) and little more, so a decompression bomb or an
 * endless download stops here instead of exhausting memory. Callers may lower it, never raise it.
 */
export const MAX_IDX_FILE_BYTES = 64 * 1024 * 1024;

/** `requested` if it is a valid cap below {@link MAX_IDX_FILE_BYTES}, else the hard limit itself. */
export function capAt(requested: number | undefined): number {
  return requested !== undefined && requested >= 0 && requested < MAX_IDX_FILE_BYTES
    ? requested
    : MAX_IDX_FILE_BYTES;
}

/** How long a download waits for the connection and the response headers before giving up (30 s). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;

/** How long a download waits for the next bytes of a body before calling it stalled (30 s). */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** Deadlines of one download; every field is optional and falls back to the defaults above. */
export interface NetworkTimeouts {
  /**
   * Milliseconds to wait for the connection and the response headers
   * (default {@link DEFAULT_HEADERS_TIMEOUT_MS}).
   */
  headersTimeoutMs?: number;
  /**
   * Milliseconds without a single body byte after which the download is abandoned as stalled; the clock
   * restarts on every chunk, so a slow but steady download never times out (default {@link DEFAULT_STALL_TIMEOUT_MS}).
   */
  stallTimeoutMs?: number;
}

/** "64 MiB" for a byte count, for error messages. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** "30 s" or "0.2 s" for a duration in milliseconds, for error messages. */
export function describeSeconds(ms: number): string {
  return `${+(ms / 1000).toFixed(3)} s`;
}
