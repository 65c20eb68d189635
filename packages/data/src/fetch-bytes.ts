import { concatBytes } from './concat-bytes';
import { MnistDataError } from './errors';
import {
  capAt,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  describeBytes,
  describeSeconds,
  type NetworkTimeouts,
} from './limits';

/** How far one file's download has come; `totalBytes` is undefined when the server sends no Content-Length. */
export interface FetchProgress {
  receivedBytes: number;
  totalBytes: number | undefined;
}

/** Options of {@link fetchBytes}. */
export interface FetchBytesOptions extends NetworkTimeouts {
  /** The fetch to use (default: the global one). It should honour `init.signal`; timeouts apply either way. */
  fetch?: typeof fetch;
  onProgress?: (progress: FetchProgress) => void;
  /** Refuse a body larger than this (default, and upper bound, `MAX_IDX_FILE_BYTES`). */
  maxBytes?: number;
  /** Abandons the download, e.g. once a sibling download has failed, so that nothing lingers. */
  signal?: AbortSignal;
}

/**
 * GETs `url` and returns the whole body. Turns every failure into an {@link MnistDataError} that names the
 * URL: network errors, HTTP errors (with the status), bodies cut short (with how much arrived), no
 * response headers in time, a body that stalls, and a body larger than the cap (refused from its
 * Content-Length before reading, or stopped as soon as the bytes received pass it).
 */
export async function fetchBytes(url: string, options: FetchBytesOptions = {}): Promise<Uint8Array> {
  const controller = new AbortController();
  const abandon = () => controller.abort();
  if (options.signal?.aborted) abandon();
  options.signal?.addEventListener('abort', abandon);
  try {
    const response = await requestHeaders(url, options, controller.signal);
    return await readBody(url, response, options);
  } finally {
    options.signal?.removeEventListener('abort', abandon);
    // Releases the connection when anything above failed; once the body has been read it changes nothing.
    controller.abort();
  }
}

async function requestHeaders(
  url: string,
  options: FetchBytesOptions,
  signal: AbortSignal,
): Promise<Response> {
  const { fetch: fetchImpl = globalThis.fetch, headersTimeoutMs = DEFAULT_HEADERS_TIMEOUT_MS } = options;
  let response: Response;
  try {
    response = await within(
      fetchImpl(url, { signal }),
      headersTimeoutMs,
      () =>
        new MnistDataError(
          `No response headers from ${url} within ${describeSeconds(headersTimeoutMs)} (connecting and waiting ` +
            'for the server to answer). The server is down, overloaded or unreachable; try again later, or use ' +
            'another MNIST source.',
        ),
    );
  } catch (error) {
    if (error instanceof MnistDataError) throw error;
    throw new MnistDataError(
      `Could not fetch ${url}: ${describeCause(error)}. Check the URL and the network and try again, or use ` +
        'another MNIST source.',
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new MnistDataError(
      `GET ${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}. ` +
        'Check the base URL (it must hold the four MNIST files), or use another MNIST source.',
    );
  }
  return response;
}

async function readBody(url: string, response: Response, options: FetchBytesOptions): Promise<Uint8Array> {
  const { onProgress, stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS } = options;
  const maxBytes = capAt(options.maxBytes);
  const totalBytes = contentLength(response);
  const limit = `the ${maxBytes}-byte (${describeBytes(maxBytes)}) limit for an MNIST file`;
  const tooLarge = (what: string) =>
    new MnistDataError(
      `${url} ${what}. It is not an MNIST file: check the base URL, or use another MNIST source.`,
    );
  if (totalBytes !== undefined && totalBytes > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(`announces ${totalBytes} bytes (Content-Length), more than ${limit}; not downloading it`);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let receivedBytes = 0;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await within(
          reader.read(),
          stallTimeoutMs,
          () =>
            new Error(
              `no data for ${describeSeconds(stallTimeoutMs)}: the server or the network stopped sending`,
            ),
        );
      } catch (error) {
        throw interrupted(url, receivedBytes, totalBytes, describeCause(error));
      }
      if (result.done) break;
      receivedBytes += result.value.length;
      if (receivedBytes > maxBytes) throw tooLarge(`sent more than ${limit}; the download was stopped`);
      chunks.push(result.value);
      onProgress?.({ receivedBytes, totalBytes });
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  // A body shorter than its Content-Length is a cut connection even if the stream ended quietly.
  if (totalBytes !== undefined && receivedBytes < totalBytes && !response.headers.get('content-encoding')) {
    throw interrupted(url, receivedBytes, totalBytes, 'the body ended early');
  }
  return concatBytes(chunks, receivedBytes);
}

/** The Content-Length header as a byte count; undefined when absent or not a valid number. */
function contentLength(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/**
 * Settles like `promise`, or rejects with `onTimeout()` once `ms` have passed. Racing (rather than only
 * aborting) makes the deadline hold even for a fetch that ignores its signal; the timer is always cleared,
 * so it never keeps a process alive.
 */
async function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function interrupted(
  url: string,
  received: number,
  total: number | undefined,
  cause: string,
): MnistDataError {
  const of = total === undefined ? '' : ` of ${total}`;
  return new MnistDataError(
    `Download of ${url} was interrupted after ${received}${of} bytes (${cause}). Try again.`,
  );
}

/** fetch wraps socket errors in a TypeError whose `cause` says what really happened. */
function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.replace(/\s*\n\s*/g, ' ');
}
