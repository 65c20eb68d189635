import { MnistDataError } from './errors';

/** How far one file's download has come; `totalBytes` is undefined when the server sends no Content-Length. */
export interface FetchProgress {
  receivedBytes: number;
  totalBytes: number | undefined;
}

/**
 * GETs `url` and returns the whole body. Turns every failure into an {@link MnistDataError} that names the
 * URL: network errors, HTTP errors (with the status) and bodies cut short (with how much arrived).
 */
export async function fetchBytes(
  url: string,
  fetchImpl: typeof fetch = globalThis.fetch,
  onProgress?: (progress: FetchProgress) => void,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (error) {
    throw new MnistDataError(
      `Could not fetch ${url}: ${describeCause(error)}. Check the URL and the network, or use another MNIST source.`,
    );
  }
  if (!response.ok) {
    throw new MnistDataError(
      `GET ${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}. ` +
        'Check the base URL (it must hold the four MNIST files), or use another MNIST source.',
    );
  }
  const header = response.headers.get('content-length');
  const totalBytes = header === null ? undefined : Number(header);
  const chunks: Uint8Array[] = [];
  let receivedBytes = 0;
  try {
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        receivedBytes += value.length;
        onProgress?.({ receivedBytes, totalBytes });
      }
    }
  } catch (error) {
    throw interrupted(url, receivedBytes, totalBytes, describeCause(error));
  }
  // A body shorter than its Content-Length is a cut connection even if the stream ended quietly.
  if (totalBytes !== undefined && receivedBytes < totalBytes && !response.headers.get('content-encoding')) {
    throw interrupted(url, receivedBytes, totalBytes, 'the body ended early');
  }
  return concat(chunks, receivedBytes);
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
  return `${error.message}${cause}`;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
